"""Background training jobs for the app: one at a time per machine, status on disk.

- The machine-wide training lock (:mod:`pgssl_core.machine_lock`) is held for the job's lifetime; it
  excludes a second job in this process and in any other process.
- ``RUN_DIR/status.json`` and the "interrupted" rule come from :mod:`pgssl_core.background`; an
  interrupted run can be started again with ``resume=True``.
- ``after_training`` (e.g. :func:`pgssl_core.project.model_activation.activate_if_better`) runs on the
  finished model before the job reports "done", so a page that sees "done" also sees its outcome.
No Streamlit here: the app polls :meth:`TrainingJob.snapshot` or :func:`read_status`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgssl_core.background import STATES, BackgroundJob, read_status
from pgssl_core.machine_lock import JobBusyError, acquire_machine_lock, release_machine_lock
from pgssl_core.train.data import TrainingData
from pgssl_core.train.loop import TrainingCancelled
from pgssl_core.train.rounds import TrainConfig, run_training

__all__ = ["STATES", "JobBusyError", "TrainingJob", "read_status"]


class TrainingJob(BackgroundJob):
    """One training run on a background thread. Create, :meth:`start`, poll :meth:`snapshot`,
    :meth:`cancel`, :meth:`join`."""

    cancelled_errors = (TrainingCancelled,)
    kind = "train"

    def __init__(self, data: TrainingData, config: TrainConfig, run_dir: str | Path, resume: bool = False,
                 lock_path: str | Path | None = None,
                 after_training: Callable[[Path], dict[str, Any]] | None = None) -> None:
        """Train ``config`` on ``data`` into ``run_dir`` (``resume``: from its checkpoint) under ``lock_path``;
        ``after_training(model)`` returns a JSON-ready dict kept as ``activation`` in the final status."""
        super().__init__(run_dir)
        self.data, self.config, self.resume = data, config, resume
        self.after_training = after_training
        self.lock_path = lock_path  # None: the machine's lock file (``machine_lock.train_lock_path``)
        self._lock_fd: int | None = None

    def before_start(self) -> None:
        """Take the machine lock; raises :class:`JobBusyError` if another job holds it."""
        self._lock_fd = acquire_machine_lock(self.lock_path, run_dir=self.run_dir)

    def after_end(self, final: dict[str, Any]) -> None:
        """Release the machine lock."""
        if self._lock_fd is not None:
            release_machine_lock(self._lock_fd)
            self._lock_fd = None

    def initial_fields(self) -> dict[str, Any]:
        """Method and profile, in the status from the start."""
        return {"method": self.config.method, "profile": self.config.profile}

    def work(self) -> dict[str, Any]:
        """Run the training; the final status gets the run's model and its validation figures."""
        result = run_training(self.data, self.config, self.run_dir, progress=self._on_progress,
                              cancel=self._cancel.is_set, resume=self.resume)
        # The run's model is the one that was best on val (as in the label-efficiency study); the last
        # stage's model.pt can be much worse when a late stage overfits a few labels.
        final = {"model": str(result.selected_path), "val": result.best_val or result.final_val,
                 "final_val": result.final_val}
        if self.after_training is not None:
            final["activation"] = self.after_training(result.selected_path)
        return final

    def _on_progress(self, event: dict[str, Any]) -> None:
        if event.get("kind") in ("step", "val", "stage", "activity"):
            self._write(force=event.get("kind") != "step", progress=event)
