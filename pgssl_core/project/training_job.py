"""Background training jobs for the app: one at a time per machine, status on disk.

- The machine-wide training lock (:mod:`pgssl_core.machine_lock`) is held for the job's lifetime; it
  excludes a second job in this process and in any other process.
- ``RUN_DIR/status.json`` and the "interrupted" rule come from :mod:`pgssl_core.background`; an
  interrupted run can be started again with ``resume=True``.
- ``after_training`` (e.g. :func:`pgssl_core.project.model_activation.activate_if_better`) runs on the
  finished model before the job reports "done", so a page that sees "done" also sees its outcome.
- :func:`start_training_run` / :func:`resume_training_run`: a project's training run through its whole life
  (:mod:`pgssl_core.project.run_jobs`: catalog row, start, filed result), its model made active when it
  beats the active one, and the speed of a finished run kept for the next estimate.
No Streamlit here: the app polls :meth:`TrainingJob.snapshot` or :func:`read_status`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pgssl_core.background import STATES, BackgroundJob, read_status
from pgssl_core.catalog import Project, RunKind, RunRecord
from pgssl_core.machine_lock import JobBusyError, acquire_machine_lock, release_machine_lock
from pgssl_core.project.data_plan import DataPlan, load_plan
from pgssl_core.project.run_jobs import JobFactory, OnFiled, StartedRun, resume_run, run_metrics, start_run
from pgssl_core.train.data import TrainingData
from pgssl_core.train.loop import TrainingCancelled
from pgssl_core.train.rounds import TrainConfig, run_training

__all__ = ["STATES", "JobBusyError", "TrainingJob", "read_status", "resume_training_run", "start_training_run"]


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


# ---------------------------------------------------------------- a project's training run, start to end


def start_training_run(project: Project, config: TrainConfig, plan: DataPlan,
                       data_record: Mapping[str, Any] | None = None) -> StartedRun:
    """Register a training run of ``config`` on the tiles of ``plan`` and start it in the background.

    The row's config is ``config.to_dict()`` plus ``data`` (``data_record``: e.g. the tile ids, so that later
    figures use exactly these tiles); :func:`resume_training_run` reads it back.

    Raises:
        PgsslError: the tiles cannot be read or another job holds the machine (the row is ``failed``).
    """
    record = {**config.to_dict(), "data": dict(data_record or {})}
    return start_run(project, RunKind.TRAIN, record, _training_job(project, config, plan, resume=False),
                     on_filed=_speed_recorder(config))


def run_train_config(run: RunRecord) -> TrainConfig:
    """The ``TrainConfig`` a catalog training run was started with (rows of older versions hold only method,
    profile, seed, device, init and time budget: the other fields take their defaults)."""
    return TrainConfig.from_dict(run.config)


def resume_training_run(project: Project, run: RunRecord, plan: DataPlan) -> StartedRun:
    """Continue the interrupted or cancelled training run ``run`` from its checkpoint on ``plan``'s tiles (read
    again); a budgeted run gets what is left of its budget. PgsslError as in :func:`start_training_run`."""
    return resume_run(project, run, _training_job(project, run_train_config(run), plan, resume=True))


def _training_job(project: Project, config: TrainConfig, plan: DataPlan, resume: bool) -> JobFactory:
    """Reads the plan's tiles and makes the run's job, whose model is compared with the active one before it
    reports "done"."""
    def make(run_id: str, run_dir: Path) -> BackgroundJob:
        return TrainingJob(load_plan(project, plan), config, run_dir, resume=resume,
                           after_training=lambda model: _activate(project.root, run_id, model, config.device))
    return make


def _activate(project_root: Path, run_id: str, model: Path, device: str) -> dict[str, Any]:
    """On the job's thread, before it reports "done": the run's model becomes the active model only when it
    beats the active one (or the base model) beyond the noise (:mod:`pgssl_core.project.model_activation`)."""
    from pgssl_core.models.device import resolve_device
    from pgssl_core.project.model_activation import activate_if_better

    with Project.open(project_root) as project:
        return activate_if_better(project, run_id, model, str(resolve_device(device))).to_dict()


def _speed_recorder(config: TrainConfig) -> OnFiled:
    """Keeps the measured speed of a run that finished (:mod:`pgssl_core.project.training_speed`); only for
    fresh runs: a resumed run's wall time covers part of it."""
    def record(project: Project, run_id: str, status: dict[str, Any]) -> None:
        from pgssl_core.project.training_speed import record_speed

        if status.get("state") == "done":
            record_speed(project, project.run(run_id).path, config.method, config.profile, config.device,
                         run_metrics(RunKind.TRAIN, status).get("wall_s"))
    return record
