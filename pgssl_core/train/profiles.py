"""Hyper-parameter profiles: ``test`` (seconds), ``quick`` (CPU, minutes), ``base`` (the shipped base model's
recipe), ``standard`` (GPU, minutes), ``paper`` (the source's scale).

A :class:`Profile` is a name and seven parts: ``model`` (the network), ``augment`` (the training views),
``optim`` (optimizer, batch, weight averaging), ``stages`` (rounds, each stage's steps and learning rate),
``tasks`` (the pretraining tasks, :class:`~pgssl_core.train.pretraining_tasks.TaskSettings`), ``pseudo``
(pseudo-labels and their gate) and ``evaluation`` (validation, selection, checkpoints, logs). One
serialisation, nested (:meth:`Profile.to_dict` / :meth:`Profile.from_dict`, the generic
:mod:`pgssl_core.io.dataclass_dict`); the flat dicts that runs stored before profiles were nested
(``config.json``, checkpoints, model files' metadata) still load, and overrides keep their flat names
(``batch_size``, ``task_weights``, ``pseudo_threshold``; see :data:`FLAT_FIELDS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from pgssl_core.errors import PgsslError
from pgssl_core.io.dataclass_dict import from_dict, to_dict
from pgssl_core.train.pretraining_tasks import PRETRAIN_TASKS, TaskSchedule, TaskSettings

#: Optimizers a profile may name: AdamW with cosine decay, or SGD with momentum and polynomial decay.
Optimizer = Literal["adamw", "sgd"]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
TASK_SCHEDULES: tuple[str, ...] = get_args(TaskSchedule)


@dataclass(frozen=True)
class ModelSettings:
    """The U-Net: a segmentation_models_pytorch ``encoder`` of ``encoder_depth`` stages and a decoder
    with these channels per stage."""

    encoder: str = "resnet18"
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)


@dataclass(frozen=True)
class AugmentSettings:
    """The training views (see ``augment.AugmentConfig``): ``crop`` side in px, ``scale`` range of the
    crop side, and the views of other imagery."""

    crop: int = 256
    scale: tuple[float, float] = (0.75, 1.25)
    # Working ground resolution (m/px): every tile with a known GSD is resampled to it on read.
    gsd_m: float = 0.3
    # Views imitating coarser sources (up to ``degrade`` x the working GSD) and panchromatic ones, so
    # imagery from about 0.1 m to 1 m read at the working GSD looks familiar (see AugmentConfig).
    degrade: float = 1.0
    degrade_p: float = 0.0
    grey_p: float = 0.0
    # Views imitating other sensors and light (see AugmentConfig: gamma, colour balance and haze; blur; noise;
    # JPEG), each with this probability; 0 leaves the views as they were before these existed.
    radiometric_p: float = 0.0
    sensor_p: float = 0.0


@dataclass(frozen=True)
class OptimSettings:
    """Optimisation: tiles per step, the optimizer, its peak learning rate ``lr`` (after a linear warm-up
    of ``warmup_steps``, then cosine (AdamW) or polynomial (SGD) decay), gradient clipping, the non-finite
    guard and the weight average."""

    batch_size: int = 8
    optimizer: Optimizer = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    warmup_steps: int = 20
    grad_clip: float = 5.0
    max_nonfinite: int = 5
    # Exponential moving average of the segmenter's weights; validated and kept instead of the last
    # step's weights (0 switches it off). See segmenter.WeightAverage.
    ema_decay: float = 0.0


@dataclass(frozen=True)
class StageSettings:
    """The method's stages: rounds, each stage's optimizer steps and its learning rate (None: ``optim.lr``)."""

    teacher_steps: int = 1000
    # The ``supervised`` baseline's steps; None: teacher + rounds x fine-tune, the labelled-data steps a
    # pgssl run takes, so that the baseline is never behind for want of gradient steps.
    supervised_steps: int | None = None
    pretrain_steps: int = 2000
    finetune_steps: int = 1000
    frozen_warmup_steps: int = 0
    rounds: int = 2
    pretrain_lr: float | None = None
    finetune_lr: float | None = None  # a transferred model may want a gentler start
    # Also transfer the pseudo-label segmentation decoder and head (not only the encoder) into the U-Net
    # that is fine-tuned: it starts as a student of the teacher instead of from a random decoder.
    transfer_decoder: bool = False


@dataclass(frozen=True)
class PseudoSettings:
    """Pseudo-labels: pixels under ``threshold`` confidence are left out, the rest weighted by confidence
    (``pseudo_labelling.confidence_weights``), classes balanced; and the gate on their quality."""

    threshold: float = 0.7
    class_balance: bool = True
    # The pseudo-label gate (pseudo_labelling.pseudo_label_gate): a round whose confident pseudo-labels
    # recover less than ``min_recall`` of the roof area of the labelled tiles, or whose building claims
    # there are right less than ``min_precision`` of the time, does not train the pretraining's
    # segmentation task. The labelled tiles are the teacher's own training tiles, so these figures are an
    # optimistic bound on the pool's: a teacher that misses 70% of the roofs even on the tiles it was
    # trained on teaches the pool mostly "roofs are background" (or, with precision under 0.3, "everything
    # is a roof"). 0.3 refuses the failure seen on new satellite imagery (recall 0.03) with a wide berth,
    # and lets through a teacher that half-knows the place (whose pool labels still carry signal,
    # class-balanced); it is a judgement, not a measured optimum. 0 switches a gate off.
    min_recall: float = 0.3
    min_precision: float = 0.3


@dataclass(frozen=True)
class EvaluationSettings:
    """Validation every ``eval_every`` steps, model selection, checkpoints and log lines (steps)."""

    eval_every: int = 100
    # Model selection: a later validation replaces best.pt only if its IoU (pooled over the pixels of all
    # validation tiles) beats the best so far by more than this. On 5 tiles of 128 px (~8,000 roof pixels),
    # 0.005 IoU is a few dozen pixels: a tie or a gain that small is noise, and swapping models on it would
    # trade a known model for an equal one. Small so that a real gain still counts (see loop._validate).
    select_margin: float = 0.005
    checkpoint_every: int = 200
    log_every: int = 10


#: The parts of a profile by attribute name.
PARTS: dict[str, type] = {"model": ModelSettings, "augment": AugmentSettings, "optim": OptimSettings,
                          "stages": StageSettings, "tasks": TaskSettings, "pseudo": PseudoSettings,
                          "evaluation": EvaluationSettings}
#: Flat names whose field has another name in its part (the flat names are those of overrides and of
#: profiles stored before they were nested).
_RENAMED = {"task_weights": ("tasks", "weights"), "task_schedule": ("tasks", "schedule"),
            "pseudo_threshold": ("pseudo", "threshold"), "pseudo_min_recall": ("pseudo", "min_recall"),
            "pseudo_min_precision": ("pseudo", "min_precision")}
_RENAMED_BACK = {v: k for k, v in _RENAMED.items()}
#: Every flat field name -> (part, field in the part).
FLAT_FIELDS: dict[str, tuple[str, str]] = {
    _RENAMED_BACK.get((part, f.name), f.name): (part, f.name) for part, cls in PARTS.items() for f in fields(cls)}


@dataclass(frozen=True)
class Profile:
    """Everything a run needs besides data, method and seed, in seven parts (see the module docstring)."""

    name: str
    model: ModelSettings = field(default_factory=ModelSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    stages: StageSettings = field(default_factory=StageSettings)
    tasks: TaskSettings = field(default_factory=TaskSettings)
    pseudo: PseudoSettings = field(default_factory=PseudoSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)

    def __post_init__(self) -> None:
        """Check the values whose mistakes would otherwise train something else silently.

        Raises:
            PgsslError: an unknown optimizer, task schedule or pretraining task, or a count or weight out of
                its range (one line naming the profile and the field by its flat name).
        """
        def bad(what: str) -> PgsslError:
            return PgsslError(f"profile {self.name!r}: {what}")

        value = self.flat_value
        if self.optim.optimizer not in OPTIMIZERS:
            raise bad(f"unknown optimizer {self.optim.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.tasks.schedule not in TASK_SCHEDULES:
            raise bad(f"unknown task_schedule {self.tasks.schedule!r}; choose one of {', '.join(TASK_SCHEDULES)}")
        unknown = sorted(set(self.tasks.weights) - set(PRETRAIN_TASKS))
        if unknown:
            raise bad(f"unknown pretraining task {unknown[0]!r} in task_weights; "
                      f"choose from {', '.join(PRETRAIN_TASKS)}")
        if any(not (math.isfinite(w) and w >= 0) for w in self.tasks.weights.values()):
            raise bad("task_weights must be finite and >= 0")
        for name in ("crop", "batch_size", "rounds"):
            if value(name) < 1:
                raise bad(f"{name} must be at least 1, got {value(name)}")
        for name in ("teacher_steps", "pretrain_steps", "finetune_steps", "frozen_warmup_steps", "warmup_steps"):
            if value(name) < 0:
                raise bad(f"{name} must be >= 0, got {value(name)}")
        for name in ("pseudo_threshold", "pseudo_min_recall", "pseudo_min_precision", "select_margin"):
            if not 0 <= value(name) <= 1:
                raise bad(f"{name} must be in [0, 1], got {value(name)}")
        if not 0 <= self.optim.ema_decay < 1:
            raise bad(f"ema_decay must be in [0, 1), got {self.optim.ema_decay}")

    def flat_value(self, name: str) -> Any:
        """The value of the field with the flat name ``name`` (see :data:`FLAT_FIELDS`).

        Raises:
            KeyError: no field has that flat name.
        """
        part, key = FLAT_FIELDS[name]
        return getattr(getattr(self, part), key)

    def flat_dict(self) -> dict[str, Any]:
        """The profile under its flat names, JSON-ready, as profiles were stored before they were nested (for
        keys that must not change with the nesting, such as a study's profile fingerprint; ``from_dict``
        reads it back)."""
        nested = self.to_dict()
        return {"name": self.name, **{flat: nested[part][key] for flat, (part, key) in FLAT_FIELDS.items()}}

    def with_overrides(self, **flat: Any) -> Profile:
        """A copy with fields replaced by their flat names (``batch_size=4``, ``task_weights={...}``).

        Raises:
            PgsslError: an unknown field name, or a value the profile refuses.
        """
        unknown = sorted(set(flat) - set(FLAT_FIELDS))
        if unknown:
            raise PgsslError(f"unknown profile field {unknown[0]!r}")
        parts: dict[str, dict[str, Any]] = {}
        for name, value in flat.items():
            part, key = FLAT_FIELDS[name]
            parts.setdefault(part, {})[key] = value
        return replace(self, **{part: replace(getattr(self, part), **changes) for part, changes in parts.items()})

    def to_dict(self) -> dict[str, Any]:
        """The profile as a JSON-ready nested dict: ``name`` and one dict per part (tuples become lists)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Rebuild a profile from :meth:`to_dict` output, or from the flat dict profiles were stored as before
        they were nested (a run's ``config.json``, a checkpoint's config, a model file's metadata). Keys
        the profile does not know (from newer files) are ignored; missing ones take the defaults."""
        merged: dict[str, Any] = {k: v for k, v in data.items() if k not in FLAT_FIELDS}
        for name, value in data.items():
            if name in FLAT_FIELDS and not isinstance(data.get(FLAT_FIELDS[name][0]), Mapping):
                part, key = FLAT_FIELDS[name]
                merged[part] = {**merged.get(part, {}), key: value}
        return from_dict(cls, merged)  # types (lists to tuples, parts) from the annotations


def _flat(name: str, **flat: Any) -> Profile:
    return Profile(name=name).with_overrides(**flat)


PROFILES: dict[str, Profile] = {
    # Tiny and fast: for tests and the app's end-to-end test (32-64 px tiles, seconds on a CPU).
    "test": _flat("test", encoder="tu-resnet10t", encoder_depth=3, decoder_channels=(16, 8, 8), crop=32,
                  batch_size=2, teacher_steps=4, pretrain_steps=4, finetune_steps=4, frozen_warmup_steps=1,
                  rounds=2, warmup_steps=1, proj_dim=16, proj_hidden=32, eval_every=2, checkpoint_every=2,
                  log_every=1, inpaint_block=4, inpaint_ratio=0.1,
                  # Gate and margin off: a 4-step teacher's pseudo-labels are whatever they are, and the
                  # tests that need the gate or the margin set them.
                  pseudo_min_recall=0.0, pseudo_min_precision=0.0, select_margin=0.0),
    # CPU, for a user's project: starts from the shipped base model (runs' default ``init``), so a short
    # schedule adapts it instead of learning from nothing. Whole 128 px tiles at the 0.3 m working GSD
    # (a zoom-20 OAM tile; a quarter of a zoom-19 one): 38 m of ground, several houses per view. One
    # round; EMA weights and validation from step 0 keep selection steady, so the run never ends below
    # its starting model on val. Same network as the base model (ResNet-10t U-Net, depth 4).
    "quick": _flat("quick", encoder="tu-resnet10t", encoder_depth=4, decoder_channels=(64, 32, 16, 16),
                   crop=128, scale=(0.67, 1.5), batch_size=8, teacher_steps=150, pretrain_steps=80,
                   finetune_steps=150, frozen_warmup_steps=10, transfer_decoder=True, rounds=1, lr=5e-4,
                   warmup_steps=10, proj_dim=64, proj_hidden=256, eval_every=50, checkpoint_every=50,
                   log_every=5, pseudo_threshold=0.7, degrade=3.3, degrade_p=0.2, grey_p=0.05, ema_decay=0.98),
    # The shipped base model's recipe (assets/models/README.md): PGSSL on every OAM ``train`` tile at the
    # 0.3 m working GSD, from scratch, on one CPU core in one to two hours: teacher, pseudo-labels of all
    # tiles, three-task pretraining, transfer, fine-tune. Scale, degradation and grey views cover sources
    # from about 0.1 m to 1 m; radiometric and sensor views (base model v4 on) cover other light, sensors and
    # compression. Encoder: timm's ResNet-10t at depth 4 with a light decoder, the fastest of
    # the candidates measured for CPU inference (benchmarks/results/base_model_arch.md).
    "base": _flat("base", encoder="tu-resnet10t", encoder_depth=4, decoder_channels=(64, 32, 16, 16),
                  crop=128, scale=(0.67, 1.5), batch_size=8, teacher_steps=2000, pretrain_steps=600,
                  finetune_steps=3000, frozen_warmup_steps=50, transfer_decoder=True, rounds=1, lr=1e-3,
                  warmup_steps=50, proj_dim=64, proj_hidden=256, eval_every=250, checkpoint_every=100,
                  log_every=10, pseudo_threshold=0.7, degrade=3.3, degrade_p=0.3, grey_p=0.1, ema_decay=0.995,
                  radiometric_p=0.5, sensor_p=0.2),
    # GPU: ResNet-34 at 256 px, two alternating rounds, minutes on one modern GPU. The method's switches
    # (decoder transfer, threshold, schedule, weights, holes) follow the CPU tuning of ``quick``; the
    # step counts and lr were not tuned on a GPU (none was lent to this project yet).
    "standard": _flat("standard", encoder="resnet34", crop=256, batch_size=16, teacher_steps=1500,
                      pretrain_steps=3000, finetune_steps=1500, frozen_warmup_steps=100, rounds=2, lr=1e-3,
                      transfer_decoder=True,
                      warmup_steps=100, eval_every=250, checkpoint_every=500, log_every=20),
    # The source's scale: ResNet-34 U-Net, 512 px, batch 4, 80k iterations, SGD (weight decay applied).
    "paper": _flat("paper", encoder="resnet34", crop=512, batch_size=4, teacher_steps=20000,
                   pretrain_steps=80000, finetune_steps=20000, frozen_warmup_steps=0, rounds=2,
                   optimizer="sgd", lr=0.01, weight_decay=1e-4, momentum=0.9, warmup_steps=500,
                   eval_every=2000, checkpoint_every=2000, log_every=50),
}


def get_profile(name: str, **overrides: Any) -> Profile:
    """The named profile with optional field overrides by flat name (see :meth:`Profile.with_overrides`).

    Raises:
        PgsslError: an unknown profile name or field, or a value the profile refuses (see ``Profile``).
    """
    if name not in PROFILES:
        raise PgsslError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name].with_overrides(**overrides) if overrides else PROFILES[name]
