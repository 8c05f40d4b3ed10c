"""``app.training`` without a browser: start, watch, cancel, resume and file runs of the tiny profile."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app import train_charts, training
from app.jobs import JobRegistry
from pgssl_core.errors import PgsslError
from pgssl_core.project.active_model import active_model_setting, set_active_model
from pgssl_core.project.training_job import JobBusyError
from pgssl_core.project.training_speed import stored_speed
from pgssl_core.train import TrainConfig, eta

TEST_CHOICE = TrainConfig(method="pgssl", profile="test", device="cpu")


def _wait_for_catalog(project, run_id: str, timeout: float = 60) -> dict:
    """The watcher thread files the outcome just after the job ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = project.run(run_id)
        if run["status"] not in ("created", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} was not filed within {timeout} s")


@pytest.fixture()
def registry(train_lock: Path) -> JobRegistry:
    return JobRegistry()


def test_run_to_done_then_history_and_active_model(make_project, registry) -> None:
    project = make_project(n=6, labelled=2, reference=True)
    run_id = training.start_training(registry, project, TEST_CHOICE)
    with pytest.raises(JobBusyError, match="already running"):  # one run at a time, whichever tab asks
        training.start_training(registry, project, TEST_CHOICE)
    final = registry.get(run_id).job.join(timeout=120)
    assert final["state"] == "done", final
    run = _wait_for_catalog(project, run_id)
    assert run["status"] == "done" and 0 <= run["metrics"]["val"]["iou"] <= 1
    data = run["config"]["data"]
    assert {k: data[k] for k in ("train", "pool", "val", "val_source")} == \
        {"train": 2, "pool": 4, "val": 4, "val_source": "reference"}
    # the exact tiles are recorded, so later figures (model error, the baseline) use the same ones
    plan = training.data_plan(project, TEST_CHOICE.profile, TEST_CHOICE.seed)
    assert data["train_ids"] == list(plan.train) and data["val_ids"] == list(plan.val)

    losses, vals = train_charts.metrics_tables(run["path"])
    assert {"seg", "byol", "inpaint"} <= set(losses["task"])
    assert losses["step"].is_monotonic_increasing  # global steps across stages
    plan = eta.run_plan(run["path"])
    assert losses["step"].max() == sum(n for _, _, n in plan)
    assert set(vals["stage"]) == {"teacher", "finetune"} and vals["iou"].between(0, 1).all()
    assert eta.overall_fraction(plan, final["progress"]) == 1.0
    series = set(train_charts.loss_chart(losses).data["series"])
    assert "byol (pretrain)" in series and "seg (teacher)" in series

    table = training.history_table(registry, project)
    # the run was compared with the base model on its 4 validation tiles before it said "done"; it became
    # the active model only if it won beyond the noise (issue 21), and the history shows the decision
    decision = training.run_decision(run)
    assert decision is not None and decision.tiles == 4 and decision.incumbent == "the base model"
    assert final["activation"] == run["metrics"]["activation"] == decision.to_dict()
    assert table.loc[0, "run"] == run_id and table.loc[0, "state"] == "done"
    assert table.loc[0, "when finished"] == decision.line()
    assert (table.loc[0, "active"] == "✓") == decision.activated
    assert (active_model_setting(project) == f"runs/{run_id}/best.pt") == decision.activated
    stored = set_active_model(project, training.model_file(run))
    assert stored == f"runs/{run_id}/best.pt" and (project.root / stored).is_file()
    # the finished run timed its steps: the next estimate uses them
    speed = stored_speed(project, "test", "cpu")
    assert speed and speed["seg"] > 0 and speed["pretrain"] > 0 and speed["overhead"] >= 1.0
    estimate = eta.estimate_run("pgssl", "test", speed)
    assert estimate.overhead_known
    assert estimate.seconds == pytest.approx(run["metrics"]["wall_s"], rel=0.05)  # same run, same plan


def test_cancel_interrupt_and_resume(make_project, registry) -> None:
    project = make_project(n=5, labelled=3)
    run_id = training.start_training(registry, project, TEST_CHOICE)
    assert training.cancel_training(registry, run_id)
    assert registry.get(run_id).job.join(timeout=120)["state"] == "cancelled"
    run = _wait_for_catalog(project, run_id)
    assert run["status"] == "cancelled"

    # a server restart while running: status.json says running, its process is gone -> interrupted
    status_path = Path(run["path"]) / "status.json"
    status = json.loads(status_path.read_text())
    status_path.write_text(json.dumps({**status, "state": "running", "pid": 2 ** 22 + 12345}))
    fresh = JobRegistry()  # what a restarted server has
    assert fresh.status(run)["state"] == "interrupted"
    assert not training.cancel_training(fresh, run_id)  # not owned by this registry

    training.resume_training(fresh, project, run_id)
    assert fresh.get(run_id).job.join(timeout=120)["state"] == "done"
    assert _wait_for_catalog(project, run_id)["status"] == "done"
    with pytest.raises(PgsslError, match="only interrupted or cancelled"):
        training.resume_training(fresh, project, run_id)


def test_too_few_labels_starts_nothing(make_project, registry) -> None:
    project = make_project(n=3, labelled=1)
    with pytest.raises(PgsslError, match="label at least 2 tiles"):
        training.start_training(registry, project, TEST_CHOICE)
    assert training.train_runs(project) == []
