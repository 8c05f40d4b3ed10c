"""Progress events: a callback for the caller and an append-only ``metrics.jsonl`` in the run folder.

An event is a plain dict: ``kind`` ("step", "val", "stage", "activity" = work between stages such as
pseudo-labelling, "info"), ``stage``, ``round``, ``step``, ``total``, ``losses`` (task -> float), ``lr``,
``images_per_s``, ``eta_s`` (whole run), ``val``
(iou/f1/precision/recall) and ``time`` (unix seconds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgssl_core.io import json_safe

ProgressCallback = Callable[[dict[str, Any]], None]


class MetricsLog:
    """Appends one JSON line per event. Each line goes out in a single ``write`` on an O_APPEND file,
    so a killed run leaves at most one truncated last line, which :func:`read_metrics` skips."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: dict[str, Any]) -> None:
        """Append ``event`` as one JSON line (non-finite floats become null) in a single ``write``."""
        line = (json.dumps(json_safe(event), sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All complete events of a ``metrics.jsonl`` (missing file -> [])."""
    p = Path(path)
    if not p.is_file():
        return []
    events = []
    for line in p.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


class Reporter:
    """Sends events to the callback and the log, adding the time, throughput and whole-run ETA.

    ``log`` None writes nothing (the ranks other than 0 of a distributed run)."""

    def __init__(self, log: MetricsLog | None, callback: ProgressCallback | None, plan_total: int) -> None:
        self.log = log
        self.callback = callback
        self.plan_total = plan_total
        self.done_before = 0  # steps of the run finished before the current stage
        self._rate_steps = 0
        self._rate_time = 0.0

    def timed_step(self, seconds: float) -> None:
        """Account one step's wall time (for the ETA)."""
        self._rate_steps += 1
        self._rate_time += seconds

    def eta(self, step_in_stage: int) -> float | None:
        """Seconds left in the whole run at ``step_in_stage`` of the current stage, from the measured step rate.

        Returns:
            The estimate, or None before any step was timed.
        """
        if not self._rate_steps:
            return None
        left = max(self.plan_total - self.done_before - step_in_stage, 0)
        return left * self._rate_time / self._rate_steps

    def emit(self, event: dict[str, Any], log: bool = True) -> None:
        """Stamp ``event`` with the time, append it to the log (if ``log``) and pass it to the callback."""
        event = {"time": time.time(), **event}
        if log and self.log is not None:
            self.log.write(event)
        if self.callback is not None:
            self.callback(json_safe(event))
