"""Training runs of the app: start, resume and cancel a run of the open project, its status from memory or
disk, and the run history.

A run's life (catalog row, start, filed result) is the library's
(:func:`pgssl_core.project.training_job.start_training_run`); its job is registered in the ``train`` registry
of :mod:`app.jobs`. Worker threads never call Streamlit: they write ``status.json`` /
``metrics.jsonl`` and the catalog; pages poll. Elsewhere: the ETA and measured speed in
:mod:`pgssl_core.train.eta`, the active model in :mod:`pgssl_core.project.active_model`, the live run's
activity line in :mod:`app.train_progress`, the charts' tables in :mod:`app.train_charts`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from app.jobs import JobRegistry, LiveJob
from app.jobs import job_registry as _job_registry
from pgssl_core.catalog import Project, RunKind, RunRecord
from pgssl_core.errors import PgsslError
from pgssl_core.machine_lock import JobBusyError, lock_holder, machine_is_free, train_lock_path
from pgssl_core.project.active_model import is_active_model
from pgssl_core.project.data_plan import DataPlan, plan_project_data
from pgssl_core.project.model_activation import Decision, read_decision
from pgssl_core.project.training_job import resume_training_run, run_train_config, start_training_run
from pgssl_core.project.validation_size import ValidationSize, validation_size
from pgssl_core.train import PROFILES, TrainConfig, run_model_path

RUN_KIND = RunKind.TRAIN
LIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("interrupted", "cancelled")
# The tiny test profile trains on a small seeded subset so that it finishes in seconds on any project.
DATA_LIMITS: dict[str, dict[str, int]] = {"test": {"max_pool": 8, "max_val": 4}}
# Profiles not offered to users: "test" finishes in seconds with a toy network (for the test suite,
# which sets PGSSL_OFFER_TEST_PROFILE=1 to get it).
TEST_PROFILE, TEST_PROFILE_ENV = "test", "PGSSL_OFFER_TEST_PROFILE"
#: Time budgets the Train page offers (seconds; None: the profile's step counts). Minutes a user can judge:
#: a first look, a coffee, a meeting. The run sizes its stages to the budget (pgssl_core.train.budget).
TIME_BUDGETS: dict[str, float | None] = {"5 min": 300.0, "15 min": 900.0, "45 min": 2700.0, "profile steps": None}


def default_time_budget(profile: str, device: str = "auto") -> str:
    """The budget offered first: 15 minutes on a CPU (the target wall time of a user's flow on a 2-core CPU),
    the profile's steps on a GPU (minutes already) and for the ``test`` profile (seconds, for the test suite)."""
    if profile == TEST_PROFILE or not device_line(device).startswith("cpu"):
        return "profile steps"
    return "15 min"


def job_registry() -> JobRegistry:
    """The training jobs of this server process, one registry per machine lock file (tests use private ones)."""
    return _job_registry(RUN_KIND, str(train_lock_path()))


def offered_profiles() -> list[str]:
    """The training profiles the Train page offers: not ``base`` (the shipped model's own recipe, an hour of
    CPU on thousands of tiles), and the tiny test profile only to the test suite."""
    return [p for p in PROFILES if p != "base" and (p != TEST_PROFILE or os.environ.get(TEST_PROFILE_ENV) == "1")]


def data_plan(project: Project, profile: str, seed: int = 0) -> DataPlan:
    """The tiles a run of ``profile`` would use (PgsslError when there are too few labels)."""
    return plan_project_data(project, seed=seed, **DATA_LIMITS.get(profile, {}))


# ---------------------------------------------------------------- start, resume, cancel


def _ensure_idle(registry: JobRegistry) -> None:
    live = registry.active()
    if live is not None:
        raise JobBusyError(f"training run {live.run_id} is already running: wait for it or cancel it first")


def start_training(registry: JobRegistry, project: Project, config: TrainConfig) -> str:
    """Register a ``train`` run in the project and start it in the background; returns the run id.

    The run's life (catalog row, start, filed result, model activation) is
    :func:`pgssl_core.project.training_job.start_training_run`'s; this keeps one start at a time per server.
    Raises PgsslError (too few labels, another job running, ...) before anything starts.
    """
    # one start at a time per server: two tabs pressing Start together must not both get past the
    # idle check and leave the loser as a "failed" run row
    with registry.starting:
        _ensure_idle(registry)
        machine_is_free()  # before a run row is made, so a refused start leaves nothing behind
        plan_ = data_plan(project, config.profile, config.seed)
        # The tile ids are kept so that later figures (model error, the baseline) use exactly these tiles.
        data = {"train": len(plan_.train), "pool": len(plan_.pool), "val": len(plan_.val),
                "val_source": plan_.val_source, "train_ids": list(plan_.train), "val_ids": list(plan_.val),
                "val_size": validation_size(project, plan_).to_dict()}
        started = start_training_run(project, config, plan_, data)
        registry.add(LiveJob(project.root, started.run_id, started.job))
    return started.run_id


def resume_training(registry: JobRegistry, project: Project, run_id: str) -> None:
    """Continue an interrupted or cancelled run from its checkpoint (the labels are read again)."""
    _ensure_idle(registry)
    run = project.run(run_id)
    status = registry.status(run)
    state = (status or {}).get("state")
    if state not in RESUMABLE_STATES:
        raise PgsslError(f"run {run_id} is {state or 'not started'}: only interrupted or cancelled runs can resume")
    config = run_train_config(run)
    started = resume_training_run(project, run, data_plan(project, config.profile, config.seed))
    registry.add(LiveJob(project.root, run_id, started.job))


def cancel_training(registry: JobRegistry, run_id: str) -> bool:
    """Ask the run to stop (it checkpoints first); False when this process does not own it."""
    live = registry.get(run_id)
    if live is None or not live.job.alive:
        return False
    live.job.cancel()
    return True


# ---------------------------------------------------------------- status and history


def any_live(registry: JobRegistry, project: Project) -> bool:
    """A run is queued or running: in this server process, or (per its status.json) in another one."""
    if registry.active() is not None:
        return True
    runs = train_runs(project)
    return bool(runs) and (registry.status(runs[0]) or {}).get("state") in LIVE_STATES


def train_runs(project: Project) -> list[RunRecord]:
    """The project's training runs, newest first."""
    return [r for r in reversed(project.runs()) if r.kind == RUN_KIND]


def model_file(run: dict[str, Any]) -> Path | None:
    """The model a finished run offers (best on val, see ``run_model_path``); None while it runs."""
    return run_model_path(run["path"])


def run_decision(run: dict[str, Any]) -> Decision | None:
    """Whether the run's model was made active when it finished, and why (None: decided before the rule)."""
    return read_decision(run["path"])


def holder_line(path: str | Path | None = None) -> str | None:
    """Which other job holds the machine's training lock and how to stop it, in words (markdown); None when
    the lock is free or held by this server process (its own run shows in the live panel)."""
    holder = lock_holder(path)
    if holder is None or holder.get("pid") == os.getpid():
        return None
    if not holder:
        return ("Another training job holds this machine; it does not say which (an older version, or a process "
                "that is not this app's). Find it with `fuser -v` on the lock file: "
                f"`{path or train_lock_path()}`.")
    import time

    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(holder.get("since") or 0)))
    folder = f", run folder `{holder['run_dir']}`" if holder.get("run_dir") else ""
    return (f"Another training job holds this machine: `{holder.get('command', '?')}` (process "
            f"{holder.get('pid', '?')}{folder}, since {since}). One training runs at a time: wait for it, press "
            f"Cancel in the app that started it, or stop it with Ctrl+C in its terminal or `kill "
            f"{holder.get('pid', 'PID')}`.")


def run_validation_size(run: dict[str, Any]) -> ValidationSize | None:
    """The validation size recorded when the run started (None for runs started before it was kept)."""
    data = (run.get("config") or {}).get("data") or {}
    return ValidationSize.from_dict(data["val_size"]) if data.get("val_size") else None


#: The run history shows at most this many runs (the newest); each row reads the run's status file.
MAX_RUNS_LISTED = 100


def history_table(registry: JobRegistry, project: Project) -> pd.DataFrame:
    """One row per training run (the newest :data:`MAX_RUNS_LISTED`), newest first: id, started, state,
    method, profile, val IoU, F1, wall time (s), active."""
    rows = []
    for run in train_runs(project)[:MAX_RUNS_LISTED]:
        status = registry.status(run) or {}
        val = status.get("val") or run["metrics"].get("val") or {}
        wall = run["metrics"].get("wall_s")
        active = is_active_model(project, model_file(run))
        rows.append({"run": run["id"], "started": run["created_at"][:19].replace("T", " "),
                     "state": status.get("state") or run["status"], "method": run["config"].get("method"),
                     "profile": run["config"].get("profile"), "val IoU": val.get("iou"), "val F1": val.get("f1"),
                     "validated on": _size_cell(run_validation_size(run)),
                     "when finished": _decision_cell(run_decision(run)),
                     "wall (s)": wall, "active": "✓" if active else ""})
    return pd.DataFrame(rows, columns=["run", "started", "state", "method", "profile", "val IoU", "val F1",
                                       "validated on", "when finished", "wall (s)", "active"])


def _size_cell(size: ValidationSize | None) -> str:
    """How much validation and what the val IoU is; a score on strokes is flagged as such, never called an accuracy."""
    if size is None:
        return "—"
    text = f"{size.tiles} tiles, {size.buildings} buildings"
    if size.scoring == "strokes":
        return f"⚠ strokes only: {size.score_name()}"
    return f"⚠ too little: {text}" if size.too_little() else f"accuracy: {text}"


def _decision_cell(decision: Decision | None) -> str:
    return "—" if decision is None else decision.line()


def device_line(device: str = "auto") -> str:
    """What a run will train on, in words."""
    from pgssl_core.models.device import describe_device, resolve_device

    return describe_device(resolve_device(device))
