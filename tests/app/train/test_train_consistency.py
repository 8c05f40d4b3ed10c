"""Train page consistency (issue 16, item 10): two simultaneous starts leave one run and no ghost row;
the seconds-long test profile is not offered to users."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app import training
from app.jobs import JobRegistry
from pgssl_core.project.training_job import JobBusyError
from pgssl_core.train import TrainConfig


def test_simultaneous_starts_leave_one_run(make_project, train_lock: Path, scratch_init: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(n=5, labelled=3)
    registry = JobRegistry()
    slow_plan = training.data_plan

    def data_plan(*args, **kwargs):  # widen the window between the idle check and the job's start
        time.sleep(1.0)
        return slow_plan(*args, **kwargs)

    monkeypatch.setattr(training, "data_plan", data_plan)
    outcomes: list[object] = []

    def start() -> None:
        try:
            outcomes.append(training.start_training(registry, project, TrainConfig(profile="test")))
        except JobBusyError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    started = [o for o in outcomes if isinstance(o, str)]
    assert len(started) == 1 and sum(isinstance(o, JobBusyError) for o in outcomes) == 1
    runs = [r for r in project.runs() if r["kind"] == training.RUN_KIND]
    assert [r["id"] for r in runs] == started  # no "failed" ghost row for the refused start
    registry.get(started[0]).job.cancel()  # only the rows matter here
    registry.get(started[0]).job.join(timeout=120)


def test_test_profile_is_not_offered_to_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(training.TEST_PROFILE_ENV, raising=False)
    assert "test" not in training.offered_profiles() and "quick" in training.offered_profiles()
    monkeypatch.setenv(training.TEST_PROFILE_ENV, "1")
    assert "test" in training.offered_profiles()
