"""How long a run takes: measured seconds per step, the estimate before a run starts, and the remaining time
of a running one as a range.

Everything here reads a run's plan (:func:`pgssl_core.train.plan`) and its ``metrics.jsonl`` events; nothing
runs a stage. The Train page shows these figures; the project records a finished run's speed
(:mod:`pgssl_core.project.training_speed`) for the next estimate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgssl_core.train import get_profile, plan
from pgssl_core.train.budget import PRETRAIN_COST, time_seg_steps
from pgssl_core.train.profiles import Profile
from pgssl_core.train.progress import read_metrics

# PRETRAIN_COST: a pretraining step in segmentation steps, used only when no run of the profile has been timed
# (its source is given in train/budget.py, which sizes budgeted runs with it).
# Pretraining step cost in segmentation steps when this run has not timed one yet: at least the 2.0x
# measured by benchmarks/train_throughput.py (docs/measurements.md), at most PRETRAIN_COST (the design's bound).
PRETRAIN_COST_MEASURED = 2.0
RECENT_STEPS = 40  # step timings per kind that the ETA looks at: the machine's load changes during a run
PAUSE_S = 300.0  # a gap between events longer than this is a pause (cancelled and resumed), not overhead
PSEUDO_LABEL_STAGE = "pseudo_labels"

#: A run's plan as its first ``info`` event records it: (round, stage, steps).
Plan = list[tuple[int, str, int]]


def format_duration(seconds: float | None) -> str:
    """``"1 h 05 min"``, ``"3 min 20 s"``, ``"42 s"``; an em dash when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


@dataclass(frozen=True)
class EtaRange:
    """Remaining time of a run, seconds: ``low_s`` .. ``high_s``."""

    low_s: float
    high_s: float

    def text(self) -> str:
        """The range in words, e.g. ``"3 min 20 s – 5 min 00 s"`` (one value when both ends read the same)."""
        low, high = format_duration(self.low_s), format_duration(self.high_s)
        return low if low == high else f"{low} – {high}"


def _kind(stage: str) -> str:
    return "pretrain" if stage == "pretrain" else "seg"


def run_plan(run_dir: str | Path) -> Plan:
    """The run's (round, stage, steps) plan from its first ``info`` event ([] before it is written)."""
    for event in read_metrics(Path(run_dir) / "metrics.jsonl"):
        if event.get("kind") == "info" and event.get("plan"):
            return [(int(r), str(s), int(n)) for r, s, n in event["plan"]]
    return []


def _current_index(plan_: Plan, progress: dict[str, Any]) -> tuple[int, int] | None:
    """(index in the plan, steps done in it) of the latest progress event; pseudo-labelling counts as
    the start of its round's pretraining stage."""
    rnd, stage = int(progress.get("round", 1)), str(progress.get("stage"))
    if stage == PSEUDO_LABEL_STAGE:
        stage, done = "pretrain", 0
    else:
        done = int(progress.get("step", 0))
    index = next((i for i, (r, s, _n) in enumerate(plan_) if (r, s) == (rnd, stage)), None)
    return None if index is None else (index, done)


def overall_fraction(plan_: Plan, progress: dict[str, Any] | None) -> float:
    """Share of the run's steps done, 0..1, from the plan and the latest progress event."""
    total = sum(n for _, _, n in plan_)
    if not total or not progress or "stage" not in progress:
        return 0.0
    where = _current_index(plan_, progress)  # pseudo-labelling: the start of its round's pretraining
    if where is None:
        return 0.0
    index, done_in_stage = where
    return min(1.0, (sum(n for _, _, n in plan_[:index]) + done_in_stage) / total)


def eta_range(plan_: Plan, events: list[dict[str, Any]], progress: dict[str, Any] | None,
              batch_size: int) -> EtaRange | None:
    """Remaining time of a run from its own measured step times, as a range.

    Per kind of step (segmentation, pretraining) the 10th-90th percentile of the last
    :data:`RECENT_STEPS` timed steps, times the steps left in the current stage and the stages still
    planned; a kind not timed yet is estimated from segmentation steps at 2-3x (see
    :data:`PRETRAIN_COST_MEASURED`). Both bounds are scaled by the run's measured overhead (wall time
    between events / time in steps: validation, pseudo-labelling, checkpoints).

    Args:
        plan_: the run's plan (:func:`run_plan`).
        events: the run's ``metrics.jsonl`` events; ``step`` events carry ``images_per_s``.
        progress: the latest progress event (``round``, ``stage``, ``step``).
        batch_size: images per step, to turn ``images_per_s`` into seconds per step.

    Returns:
        The range in seconds, or None before any timed step.
    """
    if not plan_ or not progress or "stage" not in progress:
        return None
    where = _current_index(plan_, progress)
    if where is None:
        return None
    times: dict[str, list[float]] = {"seg": [], "pretrain": []}
    steps = [e for e in events if e.get("kind") == "step" and e.get("images_per_s")]
    for e in steps:
        times[_kind(str(e.get("stage")))].append(batch_size / float(e["images_per_s"]))
    if not times["seg"] and not times["pretrain"]:
        return None
    bounds: dict[str, tuple[float, float]] = {}
    for kind, values in times.items():
        if values:
            low, high = np.percentile(values[-RECENT_STEPS:], [10, 90])
            bounds[kind] = (float(low), float(high))
    if "pretrain" not in bounds:
        low, high = bounds["seg"]
        bounds["pretrain"] = (low * PRETRAIN_COST_MEASURED, high * PRETRAIN_COST)
    if "seg" not in bounds:
        low, high = bounds["pretrain"]
        bounds["seg"] = (low / PRETRAIN_COST, high / PRETRAIN_COST_MEASURED)
    index, done = where
    left = {"seg": 0, "pretrain": 0}
    for i, (_r, stage, n) in enumerate(plan_):
        if i > index:
            left[_kind(stage)] += n
        elif i == index:
            left[_kind(stage)] += max(n - done, 0)
    # overhead measured on this run: wall time between events (pauses left out) over the time in steps
    stamps = [float(e["time"]) for e in events if "time" in e]
    wall = sum(b - a for a, b in zip(stamps, stamps[1:]) if 0 <= b - a <= PAUSE_S)
    done_steps = {"seg": 0, "pretrain": 0}
    for i, (_r, stage, n) in enumerate(plan_[:index + 1]):
        done_steps[_kind(stage)] += done if i == index else n
    in_steps = sum(done_steps[k] * (bounds[k][0] + bounds[k][1]) / 2 for k in done_steps)
    overhead = max(1.0, wall / in_steps) if in_steps > 0 and wall > 0 else 1.0
    low = overhead * sum(left[k] * bounds[k][0] for k in left)
    high = overhead * sum(left[k] * bounds[k][1] for k in left)
    return EtaRange(low, high)


def measured_speed(run_dir: str | Path, profile: Profile) -> dict[str, float] | None:
    """Median seconds per step of a finished run's segmentation (``seg``) and ``pretrain`` stages, from its
    ``metrics.jsonl``; None when it logged no timed step."""
    per: dict[str, list[float]] = {"seg": [], "pretrain": []}
    for e in read_metrics(Path(run_dir) / "metrics.jsonl"):
        rate = e.get("images_per_s")
        if e.get("kind") == "step" and rate:
            per["pretrain" if e.get("stage") == "pretrain" else "seg"].append(profile.optim.batch_size / rate)
    speed = {k: statistics.median(v) for k, v in per.items() if v}
    return speed or None


def benchmark_seg_step(profile_name: str, device: str = "auto", steps: int = 3) -> float:
    """Seconds per supervised training step of the profile's U-Net on random data (a rough measurement
    taking a few seconds; the first step is a warm-up and not counted; see
    :func:`pgssl_core.train.budget.time_seg_steps`)."""
    from pgssl_core.models.device import resolve_device
    from pgssl_core.train.rounds import model_config

    profile = get_profile(profile_name)
    return time_seg_steps(model_config(profile, 3), profile.optim.batch_size, profile.augment.crop,
                          resolve_device(device), steps)


@dataclass(frozen=True)
class Estimate:
    """A pre-start estimate of a run's duration."""

    seconds: float
    steps: int
    source: str  # where the speed came from, e.g. "previous run" or "measured"
    overhead_known: bool = False  # True: validation and pseudo-labelling are included


def estimate_run(method: str, profile_name: str, speed: dict[str, float], source: str = "measured") -> Estimate:
    """Duration of a run from its plan and seconds per step.

    Args:
        method: a method of :data:`pgssl_core.train.METHODS`.
        profile_name: the profile whose plan is timed.
        speed: seconds per step: ``seg``; ``pretrain`` (default :data:`PRETRAIN_COST` times ``seg``);
            ``overhead``, wall time / step time of the last finished run (default 1: validation and
            pseudo-labelling not counted).
        source: where the speed came from, said to the user.
    """
    steps_plan = plan(method, get_profile(profile_name))
    seg = speed["seg"]
    pre = speed.get("pretrain", seg * PRETRAIN_COST)
    step_s = sum(n * (pre if stage == "pretrain" else seg) for _, stage, n in steps_plan)
    seconds = speed.get("overhead", 1.0) * step_s
    return Estimate(seconds, sum(n for _, _, n in steps_plan), source, "overhead" in speed)
