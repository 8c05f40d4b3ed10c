"""The step loop shared by every stage: cancel, non-finite guard, progress, checkpoints, validation.

A stage supplies a ``step_fn(step) -> (loss tensor, {task: float})``; the loop does the backward,
gradient clipping, optimizer and scheduler steps, and everything around them.

Distributed (``ctx.dist.world_size`` > 1, see :mod:`pgssl_core.distributed`): each rank's ``step_fn``
returns the loss of its slice of the global batch; the decision to skip a non-finite step is taken by
all ranks together (a rank that skipped ``backward`` alone would leave the others waiting in DDP's
gradient all-reduce), reported losses are the mean over ranks, BatchNorm running statistics are
averaged after each step, and only rank 0 writes checkpoints and ``best.pt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pgssl_core.distributed import DistInfo, all_reduce_sum, average_buffers
from pgssl_core.errors import PgsslError
from pgssl_core.models import ModelConfig, save_model
from pgssl_core.train.budget import RunBudget
from pgssl_core.train.checkpoint import restore_rng, rng_state, save_checkpoint
from pgssl_core.train.progress import Reporter


class TrainingError(PgsslError):
    """Training cannot go on (e.g. the loss kept being non-finite)."""


class TrainingCancelled(PgsslError):
    """The run was cancelled between steps; its last checkpoint allows ``--resume``."""


@dataclass
class RunState:
    """Run-level figures carried in every checkpoint (plain data)."""

    best_iou: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)
    # One record per round whose pool was pseudo-labelled: the gate's decision and the figures it read
    # (see pseudo_labelling.pseudo_label_round).
    pseudo_labels: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Best validation IoU, the history of evaluations and the pseudo-label decisions, as plain data for
        the checkpoint."""
        return {"best_iou": self.best_iou, "history": list(self.history), "pseudo_labels": list(self.pseudo_labels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Rebuild from :meth:`to_dict` output (a checkpoint's ``run``); a checkpoint written before the
        pseudo-label decisions were recorded has none."""
        return cls(best_iou=float(data["best_iou"]), history=list(data["history"]),
                   pseudo_labels=list(data.get("pseudo_labels", [])))


@dataclass
class RunContext:
    """Shared by the stages of one run."""

    out_dir: Path
    device: torch.device
    reporter: Reporter
    config: dict[str, Any]
    generator: torch.Generator
    state: RunState
    cancel: Callable[[], bool] = lambda: False
    checkpoint_every: int = 200
    log_every: int = 10
    max_nonfinite: int = 5
    grad_clip: float = 5.0
    select_margin: float = 0.0  # see _validate and Profile.select_margin
    resume: dict[str, Any] | None = None  # a loaded checkpoint still to be applied
    dist: DistInfo = field(default_factory=DistInfo)
    budget: RunBudget | None = None  # the run's time budget (see train.budget); None: the plan's steps

    def local_rows(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch (N, ...): rows ``rank::world_size`` (all of them alone)."""
        if not self.dist.distributed:
            return batch
        return batch[self.dist.rank::self.dist.world_size]

    @property
    def checkpoint_path(self) -> Path:
        """The resumable checkpoint, ``<out_dir>/checkpoint.pt``."""
        return self.out_dir / "checkpoint.pt"


@dataclass
class Stage:
    """One training stage. ``modules`` are saved in checkpoints under their names; ``best`` is the
    (network, config) to keep as ``best.pt`` when ``validate`` improves the run's best IoU."""

    name: str
    round: int
    total: int
    batch_size: int
    modules: dict[str, nn.Module]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    step_fn: Callable[[int], tuple[torch.Tensor, dict[str, float]]]
    params: list[nn.Parameter]
    after_backward: Callable[[int], None] | None = None
    after_step: Callable[[int], None] | None = None
    validate: Callable[[], dict[str, float]] | None = None
    eval_every: int = 0
    best: tuple[nn.Module, ModelConfig] | None = None
    validate_at_start: bool = False  # also validate the weights the stage starts from (step 0)


def _checkpoint(ctx: RunContext, stage: Stage, step: int) -> None:
    if not ctx.dist.is_main:
        return  # every rank holds the same state; rank 0 writes it
    save_checkpoint(ctx.checkpoint_path, stage=stage.name, round=stage.round, step=step, total=stage.total,
                    modules={k: m.state_dict() for k, m in stage.modules.items()},
                    optimizer=stage.optimizer.state_dict(), scheduler=stage.scheduler.state_dict(),
                    rng=rng_state(ctx.generator), config=ctx.config, run=ctx.state.to_dict())


def _resume_into(ctx: RunContext, stage: Stage) -> int:
    """Apply a pending checkpoint of this very stage; returns the step to start from."""
    ck = ctx.resume
    if not ck or ck["stage"] != stage.name or ck["round"] != stage.round:
        return 0
    for name, module in stage.modules.items():
        if name in ck["modules"]:  # a checkpoint from before a module was added (e.g. "ema") still resumes
            module.load_state_dict(ck["modules"][name])
    stage.optimizer.load_state_dict(ck["optimizer"])
    stage.scheduler.load_state_dict(ck["scheduler"])
    restore_rng(ck["rng"], ctx.generator)
    ctx.resume = None
    return int(ck["step"])


def _validate(ctx: RunContext, stage: Stage, step: int) -> None:
    """Evaluate ``stage.validate`` (figures pooled over the pixels of all validation tiles, see
    ``train.metrics``), record it in the run's history and keep the network as ``best.pt`` when its IoU
    beats the best so far by more than ``ctx.select_margin``.

    The margin makes the incumbent win ties: on a handful of tiles a gain of a few pixels is noise, and a
    swap on it trades a model already known (often the starting one) for one no better. The run's first
    evaluation is always kept (``best_iou`` starts at -1). History records carry ``selected``: whether
    that evaluation became ``best.pt``.
    """
    assert stage.validate is not None  # callers validate only stages that can
    figures = stage.validate()
    improved = math.isfinite(figures["iou"]) and figures["iou"] > ctx.state.best_iou + ctx.select_margin
    selected = improved and stage.best is not None
    record = {"stage": stage.name, "round": stage.round, "step": step, **figures, "selected": selected}
    ctx.state.history.append(record)
    if selected:
        assert stage.best is not None
        model, config = stage.best
        ctx.state.best_iou = figures["iou"]
        if ctx.dist.is_main:
            save_model(ctx.out_dir / "best.pt", model, config, {"val": figures, "stage": stage.name,
                                                               "round": stage.round, "step": step})
    ctx.reporter.emit({"kind": "val", "stage": stage.name, "round": stage.round, "step": step,
                       "total": stage.total, "val": figures, "best": improved})


def _agree(ctx: RunContext, ok: bool, parts: dict[str, float], device: torch.device) -> tuple[bool, dict[str, float]]:
    """All ranks' verdict on a step (finite only if finite everywhere) and their mean losses (every rank
    runs the same tasks in a step, so the names agree)."""
    names = sorted(parts)
    values = torch.tensor([0.0 if ok else 1.0] + [parts[n] for n in names], dtype=torch.float64, device=device)
    total = all_reduce_sum(values).cpu().tolist()
    world = ctx.dist.world_size
    return total[0] == 0, {n: v / world for n, v in zip(names, total[1:], strict=True)}


def _optimizer_step(ctx: RunContext, stage: Stage, step: int) -> tuple[bool, dict[str, float]]:
    """One step of ``stage``: loss, backward, clipping, optimizer and scheduler, buffers averaged over ranks.

    Returns:
        Whether the step was taken (False: the loss or the gradient was not finite on some rank, and
        nothing was changed), and the step's losses per task.
    """
    stage.optimizer.zero_grad(set_to_none=True)
    loss, parts = stage.step_fn(step)
    ok = bool(torch.isfinite(loss.detach()).all())
    if ctx.dist.distributed:
        ok, parts = _agree(ctx, ok, parts, loss.device)
    if ok:
        loss.backward()
        if stage.after_backward is not None:
            stage.after_backward(step)
        norm = torch.nn.utils.clip_grad_norm_(stage.params, ctx.grad_clip)
        ok = bool(torch.isfinite(norm))
    if ok:
        stage.optimizer.step()
        stage.scheduler.step()
        for module in stage.modules.values():
            average_buffers(module)
        if stage.after_step is not None:
            stage.after_step(step)
    else:
        # Skip: no optimizer step, no validation, no checkpoint from a poisoned step.
        stage.optimizer.zero_grad(set_to_none=True)
    return ok, parts


def _timed_validate(ctx: RunContext, stage: Stage, step: int) -> int:
    """:func:`_validate`, its duration accounted in the run's time budget (if any); returns ``step``."""
    begun = ctx.budget.clock() if ctx.budget is not None else 0.0
    _validate(ctx, stage, step)
    if ctx.budget is not None:
        ctx.budget.record_eval(ctx.budget.clock() - begun)
    return step


def run_stage(ctx: RunContext, stage: Stage) -> None:
    """Run ``stage`` from step 0 or from a matching pending checkpoint to ``stage.total``.

    With a time budget (``ctx.budget``) the stage also stops at the first step boundary after the run's
    deadline: it validates and checkpoints as at a normal end (the checkpoint's step is where it stopped)
    and the budget's ledger records the steps done and the cut.
    """
    start = _resume_into(ctx, stage)
    for module in stage.modules.values():
        module.train()
    nonfinite = 0
    budget = ctx.budget
    end, validated = stage.total, -1  # where the stage stops; the step of its latest validation
    ctx.reporter.emit({"kind": "stage", "stage": stage.name, "round": stage.round, "step": start,
                       "total": stage.total})
    if start == 0 and stage.validate_at_start and stage.validate is not None:
        validated = _timed_validate(ctx, stage, 0)
    for step in range(start, stage.total):
        if ctx.cancel():
            _checkpoint(ctx, stage, step)
            if budget is not None:
                budget.save()  # the time spent so far, so a resumed run gets what is left
            raise TrainingCancelled(f"training cancelled at {stage.name} step {step}; resume continues from there")
        if budget is not None and budget.reached(ctx.dist, ctx.device):
            end = step
            ctx.reporter.emit({"kind": "info", "stage": stage.name, "round": stage.round, "step": step,
                               "message": f"time budget reached: {stage.name} stopped at step {step} of "
                                          f"{stage.total}"})
            break
        t0 = time.perf_counter()
        begun = budget.clock() if budget is not None else 0.0
        ok, parts = _optimizer_step(ctx, stage, step)
        nonfinite = 0 if ok else nonfinite + 1
        if not ok:
            ctx.reporter.emit({"kind": "info", "stage": stage.name, "round": stage.round, "step": step + 1,
                               "message": f"non-finite loss, step skipped ({nonfinite} in a row)"})
            if nonfinite >= ctx.max_nonfinite:
                raise TrainingError(
                    f"training stopped: the loss was not finite for {nonfinite} steps in a row "
                    f"({stage.name}, round {stage.round}, step {step + 1}); lower the learning rate or check the "
                    "tiles for no-data; the best model so far was kept")
        dt = time.perf_counter() - t0
        ctx.reporter.timed_step(dt)
        if budget is not None:
            budget.record_step(stage.name, budget.clock() - begun)
        done = step + 1
        # With a budget the run ends at its deadline: the time left is the budget's, honest by construction.
        eta = budget.remaining() if budget is not None else ctx.reporter.eta(done)
        event = {"kind": "step", "stage": stage.name, "round": stage.round, "step": done, "total": stage.total,
                 "losses": parts, "lr": stage.optimizer.param_groups[0]["lr"],
                 "images_per_s": stage.batch_size / dt if dt > 0 else None, "eta_s": eta}
        ctx.reporter.emit(event, log=done % ctx.log_every == 0 or done == stage.total)
        if ok and stage.validate is not None and stage.eval_every and done % stage.eval_every == 0 \
                and done != stage.total:
            validated = _timed_validate(ctx, stage, done)
        if ok and done % ctx.checkpoint_every == 0 and done != stage.total:
            _checkpoint(ctx, stage, done)
            if budget is not None:
                budget.save()
    # A cut right after a validation would validate the same weights again (without a budget: as always).
    if stage.validate is not None and (validated != end or budget is None):
        _timed_validate(ctx, stage, end)
    _checkpoint(ctx, stage, end)
    if budget is not None:
        budget.end_stage(stage.round, stage.name, end, cut=end < stage.total)
    ctx.reporter.done_before += stage.total
