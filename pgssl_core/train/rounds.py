"""A whole training run: the method's alternating rounds, the baselines, resume and the final model.

pgssl, round r: teacher (round 1: supervised on the labelled tiles; later: the previous round's
fine-tuned model) -> pseudo-labels of the pool -> three-task pretraining (continued across rounds)
-> transfer into a fresh U-Net -> fine-tune on the labelled tiles -> next teacher.
Baselines: ``supervised`` (random init, labelled tiles only), ``byol`` / ``inpaint`` (that single
pretraining task, then transfer + fine-tune), and pgssl with ``confidence_weighting=False``.

The plan (:func:`pgssl_core.train.plan.plan`) lists the stages; :data:`STAGE_FUNCTIONS` says which
function runs each kind. Each finished stage leaves ``stages/r<round>-<stage>.pt`` in the run folder, so
``resume`` skips finished stages and continues the interrupted one from ``checkpoint.pt``. After each
round's fine-tune, ``stages/r<round>-best.pt`` is a copy of ``best.pt`` as it stood then.

Under ``torchrun`` the same function trains with DistributedDataParallel (see
:mod:`pgssl_core.distributed`): every rank draws the same global batch and trains on its rows of it,
pseudo-labels and validation are sharded, and only rank 0 writes files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pgssl_core import distributed
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json
from pgssl_core.io.dataclass_args import flag
from pgssl_core.io.dataclass_dict import DictConfig
from pgssl_core.models import ModelConfig, save_model
from pgssl_core.models.device import describe_device, resolve_device
from pgssl_core.models.init_model import InitModel, resolve_init
from pgssl_core.train.budget import (
    MIN_STAGE_STEPS,
    Clock,
    RunBudget,
    StepCosts,
    fit_steps,
    open_budget,
    time_seg_steps,
)
from pgssl_core.train.checkpoint import load_checkpoint
from pgssl_core.train.data import TensorSet, TrainingData
from pgssl_core.train.loop import RunContext, RunState
from pgssl_core.train.plan import METHODS, PlanEntry, StageKind, plan
from pgssl_core.train.pretraining import method_task_weights, pretraining_stage
from pgssl_core.train.profiles import PROFILES, Profile, get_profile
from pgssl_core.train.progress import MetricsLog, ProgressCallback, Reporter
from pgssl_core.train.run import Run
from pgssl_core.train.segmenter import finetune, train_supervised_baseline, train_teacher

#: The function that runs each kind of stage: ``fn(run, round, steps)``.
STAGE_FUNCTIONS: dict[StageKind, Callable[[Run, int, int], None]] = {
    StageKind.TEACHER: train_teacher,
    StageKind.SUPERVISED: train_supervised_baseline,
    StageKind.PRETRAIN: pretraining_stage,
    StageKind.FINETUNE: finetune,
}


def _minutes(seconds: float | None) -> str | None:
    """A time budget in seconds as the command line's minutes (None stays None)."""
    return None if seconds is None else f"{seconds / 60:.10g}"


def _batch_override(overrides: dict[str, Any]) -> int | None:
    """The profile override the command line carries (``--batch-size``); the others are the app's own."""
    return overrides.get("batch_size")


@dataclass
class TrainConfig(DictConfig):
    """What to train: method, profile, seed, device, starting point and method switches.

    Each field carries its command-line flag and help (:func:`pgssl_core.io.dataclass_args.flag`):
    ``pgssl_core train`` builds its options from these fields, and :func:`pgssl_core.train.launch.train_args`
    writes a config back as flags, so a new field needs no other edit to reach the command line.
    """

    method: str = field(default="pgssl", metadata=flag("training method", choices=METHODS))
    profile: str = field(default="quick", metadata=flag("hyper-parameter profile", choices=lambda: list(PROFILES)))
    seed: int = field(default=0, metadata=flag("seed of the data subsets, initialisation and augmentation"))
    device: str = field(default="auto", metadata=flag("auto, cpu or cuda"))
    confidence_weighting: bool = field(default=True, metadata=flag(
        "baseline: pseudo-labels as plain argmax with weight 1 (as in the source code)",
        name="--no-confidence-weighting", negate=True))
    rounds: int | None = field(default=None, metadata=flag(
        "alternating rounds (default: the profile's)", check="positive_int"))
    # Starting point of the teacher / baseline and of the pretraining encoder: "base" (the shipped base
    # building model), "scratch" (random weights) or a model file path. See pgssl_core.models.init_model.
    init: str = field(default="base", metadata=flag(
        "starting weights: the shipped base building model (default), random, or a model file",
        metavar="base|scratch|PATH"))
    # Field overrides of the named profile; the command line sets only ``batch_size`` (the app and the
    # benchmarks set others through this dict).
    profile_overrides: dict[str, Any] = field(default_factory=dict, metadata=flag(
        "tiles per step over all processes (default: the profile's); under torchrun each rank takes N / world "
        "size of them", name="--batch-size", metavar="N", check="positive_int",
        to_field=lambda n: {"batch_size": n}, to_flag=_batch_override))
    # Seconds the run may take (see pgssl_core.train.budget): the profile's stages, their step counts scaled
    # to fit, and a hard stop at the deadline. None: the profile's step counts, as before budgets existed.
    # The command line takes minutes.
    time_budget_s: float | None = field(default=None, metadata=flag(
        "minutes the run may take: the profile's stages scaled to fit, each stopped at the deadline (plus one "
        "validation); --resume gets what is left (default: the profile's step counts)",
        name="--time-budget", metavar="MINUTES", check="positive_float",
        to_field=lambda minutes: 60.0 * minutes, to_flag=_minutes))

    def resolved_profile(self) -> Profile:
        """The named profile with the overrides (and ``rounds``, if set) applied."""
        overrides = dict(self.profile_overrides)
        if self.rounds is not None:
            overrides["rounds"] = self.rounds
        return get_profile(self.profile, **overrides)


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


#: The run card a training run writes into its folder (its only writer: :func:`run_training`).
RUN_CARD = "config.json"


def read_run_card(run_dir: str | Path) -> dict[str, Any] | None:
    """The run card of the run folder ``run_dir``: ``train`` (the :class:`TrainConfig` as a dict), ``profile``,
    ``init``, ``gsd_m``, ``data`` (tile counts: labelled, unlabelled, val) and ``distributed``.

    None when the folder holds none, or an unreadable one, or (in projects made by older versions) the app's
    request record that the catalog kept under the same name until training replaced it.
    """
    try:
        card = json.loads((Path(run_dir) / RUN_CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) and isinstance(card.get("train"), dict) else None


def run_model_path(run_dir: str | Path) -> Path | None:
    """The model a run folder offers (see ``TrainResult.selected_path``); None until the run finished
    (``model.pt`` is written at the very end, ``best.pt`` already during training)."""
    folder = Path(run_dir)
    if not (folder / "model.pt").is_file():
        return None
    best = folder / "best.pt"
    return best if best.is_file() else folder / "model.pt"


def model_config(profile: Profile, bands: int, gsd_m: float | None = None,
                 init: InitModel | None = None) -> ModelConfig:
    """The U-Net of a run for ``bands`` input bands (ImageNet statistics only for 3 bands).

    A run that starts from a model keeps that model's network and normalisation (its weights must fit);
    otherwise the profile's. ``gsd_m`` is the working GSD of the training tiles (None: unknown/native).
    """
    if init is not None and init.config is not None:
        return ModelConfig.from_dict({**init.config.to_dict(), "gsd_m": gsd_m})
    net = profile.model
    cfg = ModelConfig(encoder=net.encoder, encoder_depth=net.encoder_depth,
                      decoder_channels=tuple(net.decoder_channels), in_channels=bands, gsd_m=gsd_m)
    if bands != 3:
        cfg = ModelConfig.from_dict({**cfg.to_dict(), "mean": [0.5] * bands, "std": [0.25] * bands})
    return cfg


def run_training(data: TrainingData, config: TrainConfig, out_dir: str | Path,
                 progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None,
                 resume: bool = False, clock: Clock | None = None) -> TrainResult:
    """Train according to ``config`` into the run folder ``out_dir``.

    The run follows :func:`~pgssl_core.train.plan.plan` stage by stage (:data:`STAGE_FUNCTIONS`) and
    writes ``config.json`` (the run card), ``metrics.jsonl``, ``checkpoint.pt``, ``stages/``, ``best.pt``
    (the best model on the validation tiles, when there are any), ``model.pt`` (the last stage's model),
    ``model_config.json`` and ``result.json``. Started by ``torchrun`` (a process group joined with
    :func:`pgssl_core.distributed.process_group`), it trains with DistributedDataParallel and only rank
    0 writes; the run card records ``world_size`` and ``backend``.

    Args:
        data: labelled, unlabelled and validation tiles (every rank passes the same).
        config: method, profile, seed, device, starting point.
        out_dir: the run folder (created; must not hold a run unless ``resume``).
        progress: receives every event (see :mod:`pgssl_core.train.progress`); rank 0 only.
        cancel: polled between steps (a ``threading.Event().is_set`` works); single process only.
        resume: continue the run in ``out_dir`` from its checkpoint and finished stages (a budgeted run gets
            the time its ledger ``budget.json`` says is left; see :func:`pgssl_core.train.budget.open_budget`).
        clock: the clock of the time budget (tests inject one); default :func:`time.monotonic`.

    Returns:
        Where the models are and the run's figures (validation history, final and best val IoU/F1).

    Raises:
        PgsslError: a run already in ``out_dir`` (without ``resume``), nothing to resume, an unknown
            method or profile value, or a batch that does not split evenly over the ranks.
        ModelFileError: the starting model (``config.init``) is missing or unreadable.
        TrainingError: the loss stayed non-finite (the best model so far is kept).
        TrainingCancelled: ``cancel`` returned True; the checkpoint allows ``resume``.
    """
    t_start = time.time()
    out = Path(out_dir)
    dist = distributed.current()
    # The starting model is loaded before the run folder exists: a bad --init leaves nothing behind.
    init = resolve_init(config.init, data.bands)
    profile = config.resolved_profile()
    _check_split(profile, dist)
    out.mkdir(parents=True, exist_ok=True)
    device = distributed.rank_device(resolve_device(config.device))
    steps_plan = plan(config.method, profile)
    resume_ck = _resume_point(out, resume)
    budget = open_budget(config.time_budget_s, out, resume, dist.is_main, clock)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    state = RunState()
    if resume_ck is not None:
        state = RunState.from_dict(resume_ck["run"])
    log = MetricsLog(out / "metrics.jsonl") if dist.is_main else None
    reporter = Reporter(log, progress if dist.is_main else None, sum(s for _, _, s in steps_plan))
    ctx = RunContext(out_dir=out, device=device, reporter=reporter, config=config.to_dict(), generator=generator,
                     state=state, cancel=cancel or (lambda: False),
                     checkpoint_every=profile.evaluation.checkpoint_every, log_every=profile.evaluation.log_every,
                     max_nonfinite=profile.optim.max_nonfinite, grad_clip=profile.optim.grad_clip,
                     select_margin=profile.evaluation.select_margin, resume=resume_ck, dist=dist, budget=budget)
    run = Run(ctx=ctx, method=config.method, profile=profile, init=init,
              model_config=model_config(profile, data.bands, data.gsd_m, init),
              labelled=TensorSet.from_samples(data.labelled), pool=TensorSet.from_samples(data.pool()),
              val=TensorSet.from_samples(data.val) if data.val else None,
              task_weights=method_task_weights(config.method, profile),
              confidence_weighting=config.confidence_weighting)
    if budget is not None:
        steps_plan = budgeted_plan(run, steps_plan, budget)
        reporter.plan_total = sum(s for _, _, s in steps_plan)
    _announce(run, config, data, steps_plan, resume_ck is not None)
    run_stages(run, steps_plan, budget)
    return _finish(run, config, data, time.time() - t_start)


def _finish(run: Run, config: TrainConfig, data: TrainingData, wall: float) -> TrainResult:
    """Write the run's final files (rank 0: ``model.pt``, ``model_config.json``, ``result.json``), wait for
    every rank, report ``done`` and return the result. ``wall``: seconds the run took."""
    ctx, state = run.ctx, run.ctx.state
    if run.model is None:
        raise RuntimeError("the plan ended without a segmentation stage")
    final_val = next((h for h in reversed(state.history)), None)
    # The loop saved best.pt at the first evaluation that reached the run's best IoU.
    best_val = next((h for h in state.history if h.get("iou") == state.best_iou), None)
    meta = {"method": config.method, "profile": run.profile.name, "seed": config.seed, "val": final_val,
            "history": state.history, "confidence_weighting": config.confidence_weighting,
            "init": run.init.to_dict(), "gsd_m": data.gsd_m, "pseudo_labels": state.pseudo_labels}
    out = ctx.out_dir
    if ctx.dist.is_main:
        save_model(out / "model.pt", run.model, run.model_config, meta)
        atomic_write_json(out / "model_config.json", run.model_config.to_dict())
        atomic_write_json(out / "result.json", {**meta, "wall_s": wall, "device": str(ctx.device),
                                                "best_iou": state.best_iou, "distributed": ctx.dist.to_dict(),
                                                "time_budget": None if ctx.budget is None else ctx.budget.to_dict()})
    distributed.barrier()  # every rank returns once rank 0's files are complete
    best = out / "best.pt"
    ctx.reporter.emit({"kind": "done", "val": final_val, "wall_s": wall})
    return TrainResult(out, out / "model.pt", best if best.is_file() else None, state.history, final_val, wall,
                       str(ctx.device), best_val)


def _resume_point(out: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint a resumed run continues from (None: a fresh run, or only finished stage files).

    Raises:
        PgsslError: ``resume`` with nothing to resume, or a fresh run in a folder that holds one.
    """
    if resume:
        ck_path = out / "checkpoint.pt"
        if ck_path.is_file():
            return load_checkpoint(ck_path)
        if not (out / "stages").is_dir():
            raise PgsslError(f"nothing to resume in {out}: no checkpoint.pt; start without --resume")
        return None
    if (out / "checkpoint.pt").exists() or (out / "model.pt").exists():
        raise PgsslError(f"{out} already holds a run; use --resume to continue it or choose a new --out")
    return None


def _announce(run: Run, config: TrainConfig, data: TrainingData, steps_plan: list[PlanEntry], resumed: bool) -> None:
    """Write the run card ``config.json`` (rank 0) and emit the device, plan and starting-model events."""
    ctx = run.ctx
    if ctx.dist.is_main:
        atomic_write_json(ctx.out_dir / RUN_CARD, {
            "train": config.to_dict(), "profile": run.profile.to_dict(), "init": run.init.to_dict(),
            "gsd_m": data.gsd_m, "data": {"labelled": len(data.labelled), "unlabelled": len(data.unlabelled),
                                          "val": len(data.val)}, "distributed": ctx.dist.to_dict()})
    ctx.reporter.emit({"kind": "info", "message": f"device: {_describe(ctx.device, ctx.dist)}",
                       "device": str(ctx.device), "plan": [list(p) for p in steps_plan], "resumed": resumed,
                       "time_budget_s": None if ctx.budget is None else ctx.budget.budget_s})
    ctx.reporter.emit({"kind": "info", "message": run.init.message, "init": run.init.to_dict()})


def _pixels(tiles: TensorSet | None) -> int:
    """Pixels of all tiles of a set (0 for None)."""
    return 0 if tiles is None else sum(int(img.shape[-2]) * int(img.shape[-1]) for img in tiles.images)


def _costs(run: Run, budget: RunBudget) -> StepCosts:
    """This run's step, validation and pseudo-labelling costs; before any segmentation step was timed, a
    short probe of one (a throwaway network of the run's shape, this rank's share of the batch)."""
    p = run.profile
    per_rank = max(1, p.optim.batch_size // run.ctx.dist.world_size)
    if budget.probe_s is None and not budget.step_times["seg"]:
        budget.probe_s = time_seg_steps(run.model_config, per_rank, p.augment.crop, run.ctx.device,
                                        clock=budget.clock)
    labels_pool = run.method == "pgssl" and run.task_weights.get("seg", 0) > 0
    return budget.costs(budget.probe_s or 0.0, _pixels(run.val), _pixels(run.pool), per_rank * p.augment.crop ** 2,
                        labels_pool)


def budgeted_plan(run: Run, steps_plan: list[PlanEntry], budget: RunBudget) -> list[PlanEntry]:
    """The plan with its step counts scaled to the time left (:func:`~pgssl_core.train.budget.fit_steps`);
    stages the ledger already sized keep their counts. Rank 0's plan on every rank."""
    left = [(r, k, n) for r, k, n in steps_plan if budget.record(r, k.value) is None]
    fitted = iter(fit_steps([(k.value, n) for _, k, n in left], budget.remaining(), _costs(run, budget),
                            run.profile.evaluation.eval_every))
    scaled = []
    for r, k, n in steps_plan:
        known = budget.record(r, k.value)
        scaled.append((r, k, next(fitted) if known is None else known.planned))
    return distributed.broadcast_object(scaled)


def _size_stage(run: Run, budget: RunBudget, steps_plan: list[PlanEntry], index: int) -> int | None:
    """Steps of the stage ``steps_plan[index]`` that starts now, sized from the time left and the costs
    measured so far (the profile's proportions between it and the stages after it); the ledger's count for
    a stage that had started. None: skipped for want of time (only once the run has a segmentation model,
    so that it always ends with one)."""
    rnd, kind, steps = steps_plan[index]
    known = budget.record(rnd, kind.value)
    if known is not None:
        return None if known.skipped else known.planned
    rest = [(k.value, n) for _, k, n in steps_plan[index:]]
    planned = distributed.broadcast_object(
        fit_steps(rest, budget.remaining(), _costs(run, budget), run.profile.evaluation.eval_every)[0])
    if run.model is not None and planned < min(MIN_STAGE_STEPS, steps):
        budget.start_stage(rnd, kind.value, 0, skipped=True)
        return None
    planned = max(planned, 1) if steps > 0 else 0
    budget.start_stage(rnd, kind.value, planned)
    return planned


def run_stages(run: Run, steps_plan: list[PlanEntry], budget: RunBudget | None) -> None:
    """Run the plan's stages (:data:`STAGE_FUNCTIONS`). With a budget each stage is sized when it starts
    (:func:`_size_stage`), and once one is skipped for want of time the stages after it are skipped too
    (a fine-tune needs its round's pretraining); the run ends with the model it has."""
    for index, (rnd, kind, steps) in enumerate(steps_plan):
        if budget is not None:
            sized = _size_stage(run, budget, steps_plan, index)
            if sized is None:
                for later_rnd, later_kind, _ in steps_plan[index + 1:]:
                    if budget.record(later_rnd, later_kind.value) is None:
                        budget.start_stage(later_rnd, later_kind.value, 0, skipped=True)
                skipped = ", ".join(f"round {r} {k.value}" for r, k, _ in steps_plan[index:])
                run.ctx.reporter.emit({"kind": "info", "message": f"time budget: no time left for {skipped}; "
                                                                   "the run ends with the model it has"})
                return
            steps = sized
        STAGE_FUNCTIONS[kind](run, rnd, steps)


def _check_split(profile: Profile, dist: distributed.DistInfo) -> None:
    """A distributed run splits each global batch evenly, at least two tiles per rank (BatchNorm needs two
    values per channel in training mode, e.g. in BYOL's projector)."""
    if not dist.distributed:
        return
    batch = profile.optim.batch_size
    per_rank, left = divmod(batch, dist.world_size)
    if left or per_rank < 2:
        raise PgsslError(f"the profile's batch of {batch} tiles does not split into at least 2 per "
                         f"rank over {dist.world_size} ranks; use a multiple of {2 * dist.world_size} "
                         "(profile batch_size) or fewer processes")


def _describe(device: torch.device, dist: distributed.DistInfo) -> str:
    text = describe_device(device)
    if dist.distributed:
        text += f", rank {dist.rank} of {dist.world_size} ({dist.backend})"
    return text
