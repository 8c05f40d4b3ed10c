"""What a live training run is doing, in words for the Train page: its activity line, a note when other
processes load the machine, and the batch size its ETA needs (the ETA itself: :mod:`pgssl_core.train.eta`)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pgssl_core.errors import PgsslError
from pgssl_core.train import Profile, get_profile
from pgssl_core.train.eta import PSEUDO_LABEL_STAGE, format_duration


def run_batch_size(run: dict[str, Any]) -> int:
    """The batch size the run trains with (its ``config.json``, else its profile's)."""
    try:
        card = json.loads((Path(run["path"]) / "config.json").read_text())
        return Profile.from_dict(card["profile"]).optim.batch_size  # nested, or flat from older runs
    except (OSError, ValueError, KeyError, TypeError, PgsslError):
        return get_profile(run["config"].get("profile", "quick")).optim.batch_size


def activity_line(progress: dict[str, Any] | None, now: float | None = None) -> str:
    """What the run is doing, for the progress bar: stage and step, pseudo-labelling, or validation,
    with how long ago it last reported (a sign of life while one step or stage takes long)."""
    if not progress or not progress.get("stage"):
        return "preparing (reading the tiles, building the model)…"
    stage, rnd = str(progress["stage"]), progress.get("round", 1)
    if stage == PSEUDO_LABEL_STAGE:
        what = (f"round {rnd} · pseudo-labelling the unlabelled tiles · "
                f"{progress.get('step', 0)}/{progress.get('total', '?')}")
    elif progress.get("kind") == "val":
        what = f"round {rnd} · {stage} · validating at step {progress.get('step', 0)}/{progress.get('total', '?')}"
    else:
        what = f"round {rnd} · {stage} · step {progress.get('step', 0)}/{progress.get('total', '?')}"
    stamp = progress.get("time")
    if stamp:
        ago = max(0.0, (now if now is not None else time.time()) - float(stamp))
        if ago >= 10:
            what += f" · last report {format_duration(ago)} ago"
    return what


def machine_busy_note(run_live: bool, load_1min: float | None = None, cores: int | None = None) -> str | None:
    """A line when other processes compete for the CPU (1-minute load average above the cores a run
    would use), since that slows training and makes every estimate longer; None otherwise."""
    try:
        load = os.getloadavg()[0] if load_1min is None else load_1min
    except OSError:  # not available on this platform
        return None
    cores = cores or os.cpu_count() or 1
    own = cores if run_live else 0  # a live run keeps about every core busy itself
    if load - own < max(1.0, cores / 2):  # others use less than half the cores: not worth a word
        return None
    return (f"The machine is busy: load {load:.1f} on {cores} cores"
            + (" besides this run" if run_live else "") + ". Other processes slow training down; "
            "the estimates assume the load stays as it is.")
