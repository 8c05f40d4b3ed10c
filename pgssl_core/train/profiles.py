"""Hyper-parameter profiles: ``test`` (seconds), ``quick`` (CPU, minutes), ``standard`` (GPU, minutes),
``paper`` (the source's scale). One dataclass, all profiles in this file."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, get_args

from pgssl_core.errors import PgsslError

#: Optimizers a profile may name: AdamW with cosine decay, or SGD with momentum and polynomial decay.
Optimizer = Literal["adamw", "sgd"]
#: How the pretraining tasks share a step: all together, or one per step in turn.
TaskSchedule = Literal["joint", "alternate"]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
TASK_SCHEDULES: tuple[str, ...] = get_args(TaskSchedule)


@dataclass(frozen=True)
class Profile:
    """Everything a run needs besides data, method and seed.

    Steps are optimizer steps; ``crop`` is the training crop side in pixels; learning rates are peak
    values of a linear warm-up followed by cosine (AdamW) or polynomial (SGD) decay.
    """

    name: str
    encoder: str = "resnet18"
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    crop: int = 256
    scale: tuple[float, float] = (0.75, 1.25)
    batch_size: int = 8
    teacher_steps: int = 1000
    # The ``supervised`` baseline's steps; None: teacher + rounds x fine-tune, the labelled-data steps a
    # pgssl run takes, so that the baseline is never behind for want of gradient steps.
    supervised_steps: int | None = None
    pretrain_steps: int = 2000
    finetune_steps: int = 1000
    frozen_warmup_steps: int = 0
    rounds: int = 2
    optimizer: Optimizer = "adamw"
    lr: float = 1e-3
    pretrain_lr: float | None = None
    finetune_lr: float | None = None  # None: ``lr``; a transferred model may want a gentler start
    weight_decay: float = 1e-4
    momentum: float = 0.9
    warmup_steps: int = 20
    task_weights: dict[str, float] = field(default_factory=lambda: {"seg": 1.0, "byol": 1.0, "inpaint": 1.0})
    task_schedule: TaskSchedule = "joint"
    byol_momentum: float = 0.996
    proj_dim: int = 128
    proj_hidden: int = 512
    # Also transfer the pseudo-label segmentation decoder and head (not only the encoder) into the U-Net
    # that is fine-tuned: it starts as a student of the teacher instead of from a random decoder.
    transfer_decoder: bool = False
    inpaint_block: int = 4
    inpaint_ratio: float = 0.05
    pseudo_threshold: float = 0.7
    class_balance: bool = True
    # The pseudo-label gate (pseudo_labelling.pseudo_label_gate): a round whose confident pseudo-labels
    # recover less than ``pseudo_min_recall`` of the roof area of the labelled tiles, or whose building
    # claims there are right less than ``pseudo_min_precision`` of the time, does not train the pretraining's
    # segmentation task. The labelled tiles are the teacher's own training tiles, so these figures are an
    # optimistic bound on the pool's: a teacher that misses 70% of the roofs even on the tiles it was
    # trained on teaches the pool mostly "roofs are background" (or, with precision under 0.3, "everything
    # is a roof"). 0.3 refuses the failure seen on new satellite imagery (recall 0.03, issue 23) with a wide
    # berth, and lets through a teacher that half-knows the place (whose pool labels still carry signal,
    # class-balanced); it is a judgement, not a measured optimum. 0 switches a gate off.
    pseudo_min_recall: float = 0.3
    pseudo_min_precision: float = 0.3
    # Model selection: a later validation replaces best.pt only if its IoU (pooled over the pixels of all
    # validation tiles) beats the best so far by more than this. On 5 tiles of 128 px (~8,000 roof pixels),
    # 0.005 IoU is a few dozen pixels: a tie or a gain that small is noise, and swapping models on it would
    # trade a known model for an equal one. Small so that a real gain still counts (see loop._validate).
    select_margin: float = 0.005
    eval_every: int = 100
    checkpoint_every: int = 200
    log_every: int = 10
    max_nonfinite: int = 5
    grad_clip: float = 5.0
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
    # Exponential moving average of the segmenter's weights; validated and kept instead of the last
    # step's weights (0 switches it off). See stages.WeightAverage.
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        """Check the values whose mistakes would otherwise train something else silently.

        Raises:
            PgsslError: an unknown optimizer, task schedule or pretraining task, or a count or weight out of
                its range (one line naming the profile and the field).
        """
        from pgssl_core.train.pretraining_tasks import PRETRAIN_TASKS  # heavy (torch, models): when checked

        def bad(what: str) -> PgsslError:
            return PgsslError(f"profile {self.name!r}: {what}")

        if self.optimizer not in OPTIMIZERS:
            raise bad(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.task_schedule not in TASK_SCHEDULES:
            raise bad(f"unknown task_schedule {self.task_schedule!r}; choose one of {', '.join(TASK_SCHEDULES)}")
        unknown = sorted(set(self.task_weights) - set(PRETRAIN_TASKS))
        if unknown:
            raise bad(f"unknown pretraining task {unknown[0]!r} in task_weights; "
                      f"choose from {', '.join(PRETRAIN_TASKS)}")
        if any(not (math.isfinite(w) and w >= 0) for w in self.task_weights.values()):
            raise bad("task_weights must be finite and >= 0")
        for name in ("crop", "batch_size", "rounds"):
            if getattr(self, name) < 1:
                raise bad(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("teacher_steps", "pretrain_steps", "finetune_steps", "frozen_warmup_steps", "warmup_steps"):
            if getattr(self, name) < 0:
                raise bad(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.pseudo_threshold <= 1:
            raise bad(f"pseudo_threshold must be in [0, 1], got {self.pseudo_threshold}")
        for name in ("pseudo_min_recall", "pseudo_min_precision", "select_margin"):
            if not 0 <= getattr(self, name) <= 1:
                raise bad(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise bad(f"ema_decay must be in [0, 1), got {self.ema_decay}")

    def to_dict(self) -> dict[str, Any]:
        """The profile as a JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["decoder_channels"] = list(self.decoder_channels)
        data["scale"] = list(self.scale)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Rebuild a profile from :meth:`to_dict` output; unknown keys (from newer files) are ignored."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("decoder_channels", "scale"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


PROFILES: dict[str, Profile] = {
    # Tiny and fast: for tests and the app's end-to-end test (32-64 px tiles, seconds on a CPU).
    "test": Profile(name="test", encoder="tu-resnet10t", encoder_depth=3, decoder_channels=(16, 8, 8), crop=32,
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
    "quick": Profile(name="quick", encoder="tu-resnet10t", encoder_depth=4, decoder_channels=(64, 32, 16, 16),
                     crop=128, scale=(0.67, 1.5), batch_size=8, teacher_steps=150, pretrain_steps=80,
                     finetune_steps=150, frozen_warmup_steps=10, transfer_decoder=True, rounds=1, lr=5e-4,
                     warmup_steps=10, proj_dim=64, proj_hidden=256, eval_every=50, checkpoint_every=50,
                     log_every=5, pseudo_threshold=0.7, degrade=3.3, degrade_p=0.2, grey_p=0.05, ema_decay=0.98),
    # The shipped base model's recipe (pgssl_core/assets/models/README.md): PGSSL on every OAM ``train`` tile at the
    # 0.3 m working GSD, from scratch, on one CPU core in one to two hours: teacher, pseudo-labels of all
    # tiles, three-task pretraining, transfer, fine-tune. Scale, degradation and grey views cover sources
    # from about 0.1 m to 1 m; radiometric and sensor views (base model v4 on) cover other light, sensors and
    # compression. Encoder: timm's ResNet-10t at depth 4 with a light decoder, the fastest of
    # the candidates measured for CPU inference (benchmarks/results/base_model_arch.md).
    "base": Profile(name="base", encoder="tu-resnet10t", encoder_depth=4, decoder_channels=(64, 32, 16, 16),
                    crop=128, scale=(0.67, 1.5), batch_size=8, teacher_steps=2000, pretrain_steps=600,
                    finetune_steps=3000, frozen_warmup_steps=50, transfer_decoder=True, rounds=1, lr=1e-3,
                    warmup_steps=50, proj_dim=64, proj_hidden=256, eval_every=250, checkpoint_every=100,
                    log_every=10, pseudo_threshold=0.7, degrade=3.3, degrade_p=0.3, grey_p=0.1, ema_decay=0.995,
                    radiometric_p=0.5, sensor_p=0.2),
    # GPU: ResNet-34 at 256 px, two alternating rounds, minutes on one modern GPU. The method's switches
    # (decoder transfer, threshold, schedule, weights, holes) follow the CPU tuning of ``quick``; the
    # step counts and lr were not tuned on a GPU (none was lent to this project yet).
    "standard": Profile(name="standard", encoder="resnet34", crop=256, batch_size=16, teacher_steps=1500,
                        pretrain_steps=3000, finetune_steps=1500, frozen_warmup_steps=100, rounds=2, lr=1e-3,
                        transfer_decoder=True,
                        warmup_steps=100, eval_every=250, checkpoint_every=500, log_every=20),
    # The source's scale: ResNet-34 U-Net, 512 px, batch 4, 80k iterations, SGD (weight decay applied).
    "paper": Profile(name="paper", encoder="resnet34", crop=512, batch_size=4, teacher_steps=20000,
                     pretrain_steps=80000, finetune_steps=20000, frozen_warmup_steps=0, rounds=2,
                     optimizer="sgd", lr=0.01, weight_decay=1e-4, momentum=0.9, warmup_steps=500,
                     eval_every=2000, checkpoint_every=2000, log_every=50),
}


def get_profile(name: str, **overrides: Any) -> Profile:
    """The named profile with optional field overrides.

    Raises:
        PgsslError: an unknown profile name or field, or a value the profile refuses (see ``Profile``).
    """
    if name not in PROFILES:
        raise PgsslError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    unknown = sorted(set(overrides) - {f.name for f in fields(Profile)})
    if unknown:
        raise PgsslError(f"unknown profile field {unknown[0]!r}")
    return replace(PROFILES[name], **overrides) if overrides else PROFILES[name]
