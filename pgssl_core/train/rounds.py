"""A whole training run: the method's alternating rounds, the baselines, resume and the final model.

pgssl, round r: teacher (round 1: supervised on the labelled tiles; later: the previous round's
fine-tuned model) -> pseudo-labels of the pool -> three-task pretraining (continued across rounds)
-> transfer into a fresh U-Net -> fine-tune on the labelled tiles -> next teacher.
Baselines: ``supervised`` (random init, labelled tiles only), ``byol`` / ``inpaint`` (that single
pretraining task, then transfer + fine-tune), and pgssl with ``confidence_weighting=False``.

Each finished stage leaves ``stages/r<round>-<stage>.pt`` in the run folder, so ``resume`` skips
finished stages and continues the interrupted one from ``checkpoint.pt``. After each round's fine-tune,
``stages/r<round>-best.pt`` is a copy of ``best.pt`` as it stood then (best on val up to that round).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_bytes, atomic_write_json
from pgssl_core.models import ModelConfig, create_model, save_model
from pgssl_core.models.init_model import InitModel, resolve_init
from pgssl_core.train.checkpoint import load_checkpoint, load_torch, save_torch
from pgssl_core.train.data import TrainingData
from pgssl_core.train.device import describe_device, resolve_device
from pgssl_core.train.loop import RunContext, RunState
from pgssl_core.train.profiles import Profile, get_profile
from pgssl_core.train.progress import MetricsLog, ProgressCallback, Reporter
from pgssl_core.train.pseudo_labels import PseudoLabelConfig, make_pseudo_labels, pseudo_label_quality
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.stages import TensorSet, pretrain, train_segmenter, transfer

METHODS = ("pgssl", "supervised", "byol", "inpaint")


@dataclass
class TrainConfig:
    """What to train: method, profile (name or object), seed, device, and method switches."""

    method: str = "pgssl"
    profile: str = "quick"
    seed: int = 0
    device: str = "auto"
    confidence_weighting: bool = True
    rounds: int | None = None  # None: the profile's
    # Starting point of the teacher / baseline and of the pretraining encoder: "base" (the shipped base
    # building model), "scratch" (random weights) or a model file path. See pgssl_core.models.init_model.
    init: str = "base"
    profile_overrides: dict[str, Any] = field(default_factory=dict)

    def resolved_profile(self) -> Profile:
        overrides = dict(self.profile_overrides)
        if self.rounds is not None:
            overrides["rounds"] = self.rounds
        return get_profile(self.profile, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """Where the outputs are and the figures of the run."""

    run_dir: Path
    model_path: Path
    best_path: Path | None
    history: list[dict[str, Any]]
    final_val: dict[str, float] | None
    wall_s: float
    device: str
    best_val: dict[str, Any] | None = None  # val figures of best.pt (the run's best evaluation)

    @property
    def selected_path(self) -> Path:
        """The run's model: ``best.pt`` when the run validated, else the last stage's ``model.pt``."""
        return self.best_path or self.model_path


def run_model_path(run_dir: str | Path) -> Path | None:
    """The model a run folder offers (see ``TrainResult.selected_path``); None until the run finished
    (``model.pt`` is written at the very end, ``best.pt`` already during training)."""
    folder = Path(run_dir)
    if not (folder / "model.pt").is_file():
        return None
    best = folder / "best.pt"
    return best if best.is_file() else folder / "model.pt"


def plan(method: str, profile: Profile) -> list[tuple[int, str, int]]:
    """The (round, stage, steps) sequence of a run."""
    if method == "supervised":
        return [(1, "supervised", supervised_steps(profile))]
    if method in ("byol", "inpaint"):
        return [(1, "pretrain", profile.pretrain_steps), (1, "finetune", profile.finetune_steps)]
    if method != "pgssl":
        raise PgsslError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    steps = [(1, "teacher", profile.teacher_steps)]
    for r in range(1, profile.rounds + 1):
        steps += [(r, "pretrain", profile.pretrain_steps), (r, "finetune", profile.finetune_steps)]
    return steps


def supervised_steps(profile: Profile) -> int:
    """Steps of the ``supervised`` baseline (see ``Profile.supervised_steps``)."""
    if profile.supervised_steps is not None:
        return profile.supervised_steps
    return profile.teacher_steps + profile.rounds * profile.finetune_steps


def model_config(profile: Profile, bands: int, gsd_m: float | None = None, init: InitModel | None = None) -> ModelConfig:
    """The U-Net of a run for ``bands`` input bands (ImageNet statistics only for 3 bands).

    A run that starts from a model keeps that model's network and normalisation (its weights must fit);
    otherwise the profile's. ``gsd_m`` is the working GSD of the training tiles (None: unknown/native).
    """
    if init is not None and init.config is not None:
        return ModelConfig.from_dict({**init.config.to_dict(), "gsd_m": gsd_m})
    cfg = ModelConfig(encoder=profile.encoder, encoder_depth=profile.encoder_depth,
                      decoder_channels=tuple(profile.decoder_channels), in_channels=bands, gsd_m=gsd_m)
    if bands != 3:
        cfg = ModelConfig.from_dict({**cfg.to_dict(), "mean": [0.5] * bands, "std": [0.25] * bands})
    return cfg


def _start_model(mcfg: ModelConfig, init: InitModel) -> nn.Module:
    """A U-Net for the teacher or the supervised baseline: the init model's weights, or random."""
    model = create_model(mcfg)
    if init.model is not None:
        model.load_state_dict(init.model.state_dict())
    return model


def pseudo_label_line(rnd: int, summary: dict[str, float]) -> str:
    """One line on a round's pseudo-labels, with a warning when they under-call buildings (recall far
    below precision on the labelled tiles), which would teach the encoder that roofs are background."""
    p, r = summary.get("pl_precision", float("nan")), summary.get("pl_recall", float("nan"))
    line = (f"round {rnd} pseudo-labels: {summary['building_share']:.1%} building, {summary['ignored_share']:.1%} "
            f"left out as unsure; on the labelled tiles precision {p:.2f}, recall {r:.2f}")
    if r == r and p == p and r < 0.5 * p:  # NaN-safe: only with figures
        line += " (warning: they miss many buildings; the teacher under-calls roofs)"
    return line


def _task_weights(method: str, profile: Profile) -> dict[str, float]:
    if method == "byol":
        return {"seg": 0.0, "byol": 1.0, "inpaint": 0.0}
    if method == "inpaint":
        return {"seg": 0.0, "byol": 0.0, "inpaint": 1.0}
    return dict(profile.task_weights)


def run_training(data: TrainingData, config: TrainConfig, out_dir: str | Path,
                 progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None,
                 resume: bool = False) -> TrainResult:
    """Train according to ``config`` into ``out_dir``; returns the final model's path and figures.

    ``progress`` receives every event (see :mod:`pgssl_core.train.progress`); ``cancel`` is polled
    between steps (a ``threading.Event().is_set`` works). With ``resume`` the run continues from the
    run folder's checkpoint and finished stages.
    """
    t_start = time.time()
    out = Path(out_dir)
    # The starting model is loaded before the run folder exists: a bad --init leaves nothing behind.
    init = resolve_init(config.init, data.bands)
    out.mkdir(parents=True, exist_ok=True)
    profile = config.resolved_profile()
    device = resolve_device(config.device)
    steps_plan = plan(config.method, profile)
    resume_ck = None
    if resume:
        ck_path = out / "checkpoint.pt"
        if ck_path.is_file():
            resume_ck = load_checkpoint(ck_path)
        elif not (out / "stages").is_dir():
            raise PgsslError(f"nothing to resume in {out}: no checkpoint.pt; start without --resume")
    elif (out / "checkpoint.pt").exists() or (out / "model.pt").exists():
        raise PgsslError(f"{out} already holds a run; use --resume to continue it or choose a new --out")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    state = RunState()
    if resume_ck is not None:
        state = RunState(best_iou=float(resume_ck["run"]["best_iou"]), history=list(resume_ck["run"]["history"]))
    reporter = Reporter(MetricsLog(out / "metrics.jsonl"), progress, sum(s for _, _, s in steps_plan))
    ctx = RunContext(out_dir=out, device=device, reporter=reporter, config=config.to_dict(), generator=generator,
                     state=state, cancel=cancel or (lambda: False), checkpoint_every=profile.checkpoint_every,
                     log_every=profile.log_every, max_nonfinite=profile.max_nonfinite, grad_clip=profile.grad_clip,
                     resume=resume_ck)
    atomic_write_json(out / "config.json", {"train": config.to_dict(), "profile": profile.to_dict(),
                                             "init": init.to_dict(), "gsd_m": data.gsd_m,
                                             "data": {"labelled": len(data.labelled),
                                                      "unlabelled": len(data.unlabelled), "val": len(data.val)}})
    reporter.emit({"kind": "info", "message": f"device: {describe_device(device)}", "device": str(device),
                   "plan": [list(p) for p in steps_plan], "resumed": resume_ck is not None})
    reporter.emit({"kind": "info", "message": init.message, "init": init.to_dict()})

    mcfg = model_config(profile, data.bands, data.gsd_m, init)
    labelled = TensorSet.from_samples(data.labelled)
    pool = TensorSet.from_samples(data.pool())
    val = TensorSet.from_samples(data.val) if data.val else None
    pl_cfg = PseudoLabelConfig(threshold=profile.pseudo_threshold, confidence_weighting=config.confidence_weighting,
                               class_balance=profile.class_balance)
    weights = _task_weights(config.method, profile)

    def stage_file(rnd: int, name: str) -> Path:
        return out / "stages" / f"r{rnd}-{name}.pt"

    def finished(rnd: int, name: str, module: nn.Module, steps: int) -> bool:
        path = stage_file(rnd, name)
        if path.is_file():
            module.load_state_dict(load_torch(path))
            reporter.done_before += steps
            return True
        return False

    model: nn.Module | None = None
    pmodel: PretrainModel | None = None
    for rnd, name, steps in steps_plan:
        if name in ("teacher", "supervised", "finetune"):
            if name == "finetune":
                assert pmodel is not None
                fresh = transfer(pmodel, mcfg, decoder=profile.transfer_decoder)
            else:
                fresh = _start_model(mcfg, init)
            if not finished(rnd, name, fresh, steps):
                # A model that does not start at random is validated at step 0, so that selection on val
                # can keep it when training on few labels makes it worse.
                started = name == "finetune" or init.model is not None
                fresh = train_segmenter(ctx, name, rnd, fresh, mcfg, labelled, val, profile, steps,
                                        frozen_warmup=profile.frozen_warmup_steps if name == "finetune" else 0,
                                        validate_at_start=started)
                if name == "finetune" and (out / "best.pt").is_file():
                    # The best model up to the end of this round (selection on val), for the rounds ablation;
                    # written before the stage file so that a finished stage always has it.
                    atomic_write_bytes(stage_file(rnd, "best"), (out / "best.pt").read_bytes())
                save_torch(stage_file(rnd, name), fresh.state_dict())
            model = fresh.to(device).eval()
        elif name == "pretrain":
            if pmodel is None:
                pmodel = PretrainModel(mcfg, profile.proj_dim, profile.proj_hidden)
                if init.model is not None:
                    pmodel.start_from(init.model)
            if finished(rnd, name, pmodel, steps):
                continue
            pseudo = None
            if weights.get("seg", 0) > 0:
                assert model is not None, "pseudo-labels need a teacher"
                def pl_progress(done: int, total: int, rnd: int = rnd) -> None:
                    # "activity", not "stage": pseudo-labelling is work between stages, not a training stage
                    reporter.emit({"kind": "activity", "stage": "pseudo_labels", "round": rnd, "step": done,
                                   "total": total}, log=False)

                labels, pw, summary = make_pseudo_labels(model, pool.images, mcfg.mean, mcfg.std, pl_cfg, device,
                                                         2 ** mcfg.encoder_depth, progress=pl_progress)
                summary.update(pseudo_label_quality(labels, pool.masks))
                reporter.emit({"kind": "info", "stage": "pseudo_labels", "round": rnd, "pseudo_labels": summary,
                               "message": pseudo_label_line(rnd, summary)})
                pseudo = (labels, pw)
            pmodel = pretrain(ctx, rnd, pmodel, pool, pseudo, profile, weights, steps)
            save_torch(stage_file(rnd, name), pmodel.state_dict())
    assert model is not None
    final_val = next((h for h in reversed(state.history)), None)
    # The loop saved best.pt at the first evaluation that reached the run's best IoU.
    best_val = next((h for h in state.history if h.get("iou") == state.best_iou), None)
    meta = {"method": config.method, "profile": profile.name, "seed": config.seed, "val": final_val,
            "history": state.history, "confidence_weighting": config.confidence_weighting, "init": init.to_dict(),
            "gsd_m": data.gsd_m}
    save_model(out / "model.pt", model, mcfg, meta)
    atomic_write_json(out / "model_config.json", mcfg.to_dict())
    best = out / "best.pt"
    wall = time.time() - t_start
    atomic_write_json(out / "result.json", {**meta, "wall_s": wall, "device": str(device), "best_iou": state.best_iou})
    reporter.emit({"kind": "done", "val": final_val, "wall_s": wall})
    return TrainResult(out, out / "model.pt", best if best.is_file() else None, state.history, final_val, wall,
                       str(device), best_val)
