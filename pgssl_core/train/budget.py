"""Time-budgeted runs: a user picks minutes, the run sizes its stages to them and stops at the deadline.

A run with ``TrainConfig.time_budget_s`` keeps its profile's stages and their proportions (teacher :
pretraining : fine-tune, e.g. ``quick``'s 150 : 80 : 150) and scales the step counts by one factor so that
the steps, the validations and the pseudo-labelling passes fit the budget (:func:`fit_steps`). The costs come
from this run: a short probe of the segmentation step before the first stage (:func:`probe_seg_step`), then
the measured step, validation and stage times. Each stage is sized when it starts, from the time left and the
costs measured so far, so an estimate that was off (the pretraining step is guessed until one is timed) is
corrected by the next stage instead of piling up.

Why the profile's proportions and not another split: they are the split the benchmarks measured
(label-efficiency study, ``docs/studies.md``); a budget only says how long, and keeping the split keeps a
budgeted run the same method at another length. With a larger budget every stage grows, the teacher included:
on a new place the teacher's validation IoU was still climbing when its 150 steps of ``quick`` ended, so a
longer budget is worth spending on it too.

The hard guard: :func:`pgssl_core.train.loop.run_stage` stops a stage at the first step boundary after the
deadline, validating and checkpointing as at a normal end; the run then skips the stages left (once it has a
segmentation model) and writes its model files. A run therefore ends within the budget plus one step and one
validation. The ledger ``budget.json`` in the run folder records the budget, the time spent (updated at every
checkpoint, so a resumed run gets what is left), and per stage the planned and the done steps and whether the
deadline cut it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from pgssl_core.distributed import DistInfo, all_reduce_sum
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json
from pgssl_core.models import ModelConfig

#: Seconds since an arbitrary origin; :func:`time.monotonic` unless a test injects another.
Clock = Callable[[], float]

# A pretraining step runs the segmentation head, BYOL on two views (online + target network) and
# inpainting: about three segmentation steps' work (the design's bound; benchmarks/train_throughput.py
# measured 2.0x). Used until this run has timed a pretraining step; the upper value, so the guess errs short.
PRETRAIN_COST = 3.0
# A forward pass without gradients costs about a third of a training step (the backward pass costs about
# twice the forward: the 2N vs 6N FLOPs per parameter and sample of Kaplan et al. 2020, "Scaling Laws for
# Neural Language Models", section 2.1). Used for validation and pseudo-labelling until one was timed.
FORWARD_SHARE = 1.0 / 3.0
# Validations a segmentation stage runs besides those every ``eval_every`` steps: one at its end and, when it
# does not start at random, one at step 0 (see segmenter.py).
EXTRA_EVALS = 2
# A stage that would get fewer steps than this (or than its profile count, if smaller) is skipped: the
# warm-up of the CPU profile alone is 10 steps (profiles.quick), so fewer steps would not move the network.
MIN_STAGE_STEPS = 5
PROBE_STEPS = 3  # timed segmentation steps of the probe, after one untimed warm-up step
RECENT = 40  # measured step times per kind the costs look at (the machine's load changes during a run)
LEDGER = "budget.json"


def seg_kind(stage: str) -> str:
    """``"pretrain"`` for a pretraining stage, else ``"seg"`` (teacher, supervised, fine-tune)."""
    return "pretrain" if stage == "pretrain" else "seg"


@dataclass(frozen=True)
class StepCosts:
    """Seconds of one segmentation step, one pretraining step, one validation pass over all validation tiles
    (0 without them) and one pseudo-labelling pass over the pool (0 when the method does not label it)."""

    seg_s: float
    pretrain_s: float
    eval_s: float = 0.0
    pseudo_s: float = 0.0


def fit_steps(stages: Sequence[tuple[str, int]], available_s: float, costs: StepCosts, eval_every: int) -> list[int]:
    """The stages' step counts scaled by one factor so that they, their validations and the pseudo-labelling
    passes fit ``available_s`` seconds.

    Args:
        stages: (stage name, profile step count) of the stages still to run, in order.
        available_s: seconds left for them (>= 0 makes sense; less gives zeros).
        costs: measured or estimated costs (see :class:`StepCosts`).
        eval_every: steps between validations of a segmentation stage (0: only the extra ones).

    Returns:
        One count per stage, each ``floor(factor * count)``; the factor is the largest that fits (it may be
        above 1: a long budget lengthens every stage).
    """
    per_factor = 0.0  # seconds that grow with the factor
    fixed = 0.0  # seconds that do not
    for name, steps in stages:
        if seg_kind(name) == "pretrain":
            per_factor += steps * costs.pretrain_s
            fixed += costs.pseudo_s
        else:
            per_factor += steps * (costs.seg_s + (costs.eval_s / eval_every if eval_every > 0 else 0.0))
            fixed += EXTRA_EVALS * costs.eval_s
    if per_factor <= 0:
        return [steps for _, steps in stages]
    factor = max(0.0, (available_s - fixed) / per_factor)
    return [int(steps * factor) for _, steps in stages]


@dataclass
class StageRecord:
    """A stage of a budgeted run: ``planned`` steps when it started, ``done`` when it ended (None: not
    ended yet), ``cut``: the deadline stopped it early, ``skipped``: no time was left to start it."""

    round: int
    stage: str
    planned: int
    done: int | None = None
    cut: bool = False
    skipped: bool = False


@dataclass
class RunBudget:
    """The time budget of a run: deadline, measured costs, and the ledger of its stages.

    ``spent_before_s`` is the time spent by earlier sessions of the same run (resume); the clock counts
    this session from the budget's creation.
    """

    budget_s: float
    clock: Clock = time.monotonic
    spent_before_s: float = 0.0
    stages: list[StageRecord] = field(default_factory=list)
    path: Path | None = None  # the ledger file (None: not written, e.g. on ranks other than 0)
    step_times: dict[str, list[float]] = field(default_factory=lambda: {"seg": [], "pretrain": []})
    eval_times: list[float] = field(default_factory=list)
    probe_s: float | None = None  # seconds of a segmentation step from the probe (time_seg_steps), once run
    started: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.budget_s > 0:
            raise PgsslError(f"the time budget must be more than 0 seconds, got {self.budget_s}")
        self.started = self.clock()

    def elapsed(self) -> float:
        """Seconds spent by the run so far, earlier sessions included."""
        return self.spent_before_s + self.clock() - self.started

    def remaining(self) -> float:
        """Seconds left until the deadline (0 once reached)."""
        return max(0.0, self.budget_s - self.elapsed())

    def reached(self, dist: DistInfo | None = None, device: torch.device | None = None) -> bool:
        """Whether the deadline has passed; in a distributed job, whether it has passed on any rank (every
        rank must stop at the same step, or the others would wait in DDP's all-reduce)."""
        late = self.remaining() <= 0
        if dist is None or not dist.distributed:
            return late
        return bool(all_reduce_sum(torch.tensor([float(late)], device=device)).item() > 0)

    def record_step(self, stage: str, seconds: float) -> None:
        """Account one optimizer step of ``stage`` that took ``seconds``."""
        times = self.step_times[seg_kind(stage)]
        times.append(seconds)
        del times[:-RECENT]

    def record_eval(self, seconds: float) -> None:
        """Account one validation pass that took ``seconds``."""
        self.eval_times.append(seconds)
        del self.eval_times[:-RECENT]

    def costs(self, seg_probe_s: float, val_px: int, pool_px: int, step_px: int, labels_pool: bool) -> StepCosts:
        """Costs from this run's measurements, estimated where none was made yet.

        Args:
            seg_probe_s: seconds of a segmentation step from :func:`probe_seg_step` (used until steps are timed).
            val_px: pixels of all validation tiles.
            pool_px: pixels of all pool tiles.
            step_px: pixels of one training batch (batch size x crop x crop).
            labels_pool: whether the stages left pseudo-label the pool.
        """
        seg = statistics.median(self.step_times["seg"]) if self.step_times["seg"] else seg_probe_s
        pre = statistics.median(self.step_times["pretrain"]) if self.step_times["pretrain"] else PRETRAIN_COST * seg
        if self.eval_times and val_px:
            per_px = statistics.median(self.eval_times) / val_px
        else:
            per_px = FORWARD_SHARE * seg / max(step_px, 1)
        return StepCosts(seg_s=seg, pretrain_s=pre, eval_s=per_px * val_px,
                         pseudo_s=per_px * pool_px if labels_pool else 0.0)

    def record(self, rnd: int, stage: str) -> StageRecord | None:
        """The ledger's record of a stage, if it started (or was skipped) before."""
        return next((r for r in self.stages if (r.round, r.stage) == (rnd, stage)), None)

    def start_stage(self, rnd: int, stage: str, planned: int, skipped: bool = False) -> StageRecord:
        """Record the planned steps of a stage that starts (or is ``skipped``) and write the ledger."""
        entry = StageRecord(rnd, stage, planned, done=0 if skipped else None, skipped=skipped)
        self.stages.append(entry)
        self.save()
        return entry

    def end_stage(self, rnd: int, stage: str, done: int, cut: bool) -> None:
        """Record how many steps a stage did and whether the deadline cut it, and write the ledger."""
        entry = self.record(rnd, stage)
        if entry is not None:
            entry.done, entry.cut = done, cut
        self.save()

    def to_dict(self) -> dict[str, Any]:
        """The ledger as plain data: budget, time spent, and the stages' records."""
        return {"budget_s": self.budget_s, "spent_s": self.elapsed(), "stages": [asdict(s) for s in self.stages]}

    def save(self) -> None:
        """Write the ledger (``budget.json``) atomically, if this budget has a file."""
        if self.path is not None:
            atomic_write_json(self.path, self.to_dict())


def open_budget(budget_s: float | None, out_dir: Path, resume: bool, write: bool,
                clock: Clock | None = None) -> RunBudget | None:
    """The budget of a run in ``out_dir``: a new one, or on ``resume`` the ledger's with its spent time.

    A resumed run gets ``budget_s - spent`` seconds: ``budget_s`` is the budget given now (a larger one than
    at the start gives the run more time), or the ledger's when None. Stages that started keep their planned
    steps (the checkpoint's scheduler was built for them); the stages left are sized from the time left.

    Returns:
        None for a run without a budget (neither given nor in a resumed run's ledger).
    """
    path = out_dir / LEDGER
    ledger: dict[str, Any] = {}
    if resume and path.is_file():
        import json

        ledger = json.loads(path.read_text())
    total = budget_s if budget_s is not None else ledger.get("budget_s")
    if total is None:
        return None
    return RunBudget(budget_s=float(total), clock=clock or time.monotonic,
                     spent_before_s=float(ledger.get("spent_s", 0.0)),
                     stages=[StageRecord(**s) for s in ledger.get("stages", [])], path=path if write else None)


def time_seg_steps(config: ModelConfig, batch_size: int, crop: int, device: torch.device, steps: int = PROBE_STEPS,
                   clock: Clock = time.perf_counter) -> float:
    """Median seconds of a supervised training step of ``config``'s U-Net on random data (a throwaway
    network in the training memory format; the first step is a warm-up and not counted). The global torch
    RNG is left as it was."""
    from pgssl_core.models import create_model
    from pgssl_core.train.data import training_input, training_module

    with torch.random.fork_rng(devices=[]):
        model = training_module(create_model(config), device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(batch_size, config.in_channels, crop, crop, generator=gen)
        y = torch.randint(0, 2, (batch_size, crop, crop), generator=gen)
        times = []
        for _ in range(steps + 1):
            t0 = clock()
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(training_input(x, device)), y.to(device))
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(clock() - t0)
    return statistics.median(times[1:])
