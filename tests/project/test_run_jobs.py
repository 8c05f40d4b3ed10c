"""One owner of a job's life (create, start, file) for every kind of run, and projects written before it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from pgssl_core.background import BackgroundJob
from pgssl_core.catalog import Project, RunKind
from pgssl_core.errors import PgsslError
from pgssl_core.machine_lock import JobBusyError
from pgssl_core.project.baseline_compare import label_budget, run_config
from pgssl_core.project.run_jobs import resume_run, run_metrics, start_run
from pgssl_core.project.training_job import run_train_config
from pgssl_core.report.gather import run_info
from pgssl_core.train import TrainConfig
from pgssl_core.train.rounds import read_run_card


class Counting(BackgroundJob):
    """Writes a file into its folder, waits for ``go``, and reports a count (or fails when told to)."""

    def __init__(self, run_dir: Path, go: threading.Event, fail: str | None = None, refuse: bool = False) -> None:
        super().__init__(run_dir)
        self.go, self.fail, self.refuse = go, fail, refuse

    def before_start(self) -> None:
        if self.refuse:
            raise JobBusyError("another training job holds this machine")

    def work(self) -> dict[str, Any]:
        (self.run_dir / "out.txt").write_text("written by the job")
        self.go.wait(10)
        if self.fail:
            raise PgsslError(self.fail)
        return {"tiles": 3, "footprints": "f.gpkg", "not_kept": 1}


@pytest.fixture
def project(tmp_path: Path):
    with Project.create(tmp_path / "p", "Runs") as p:
        yield p


def test_a_run_is_created_started_and_filed_by_one_owner(project: Project) -> None:
    go = threading.Event()
    started = start_run(project, RunKind.PREDICT, {"model": "m.pt"}, lambda _id, folder: Counting(folder, go))
    assert project.run(started.run_id).status == "running"
    go.set()
    assert started.job.join(10)["state"] == "done"  # the row is filed on the job's thread, before it ends
    run = project.run(started.run_id)
    assert run.kind is RunKind.PREDICT and run.status == "done" and run.config == {"model": "m.pt"}
    assert run.metrics["tiles"] == 3 and run.metrics["footprints"] == "f.gpkg" and "not_kept" not in run.metrics
    assert run.metrics["wall_s"] >= 0
    assert sorted(p.name for p in run.path.iterdir()) == ["out.txt", "status.json"]  # the job's files only


def test_a_refused_start_marks_the_row_failed_and_a_resume_files_again(project: Project) -> None:
    go = threading.Event()
    with pytest.raises(JobBusyError):
        start_run(project, RunKind.TRAIN, {}, lambda _id, folder: Counting(folder, go, refuse=True))
    (run,) = project.runs()
    assert run.status == "failed" and "another training job" in run.metrics["error"]
    go.set()
    failing = resume_run(project, run, lambda _id, folder: Counting(folder, go, fail="no tiles left"))
    assert failing.run_id == run.id and failing.run_dir == run.path
    failing.job.join(10)
    assert project.run(run.id).status == "failed" and project.run(run.id).metrics["error"] == "no tiles left"
    done = resume_run(project, run, lambda _id, folder: Counting(folder, go))
    done.job.join(10)
    assert project.run(run.id).status == "done" and "error" not in project.run(run.id).metrics


def test_a_job_that_cannot_be_made_leaves_a_failed_row(project: Project) -> None:
    def unreadable(_run_id: str, _folder: Path) -> BackgroundJob:
        raise OSError("tile t1.tif: input/output error")

    with pytest.raises(OSError):
        start_run(project, RunKind.TRAIN, {}, unreadable)
    (run,) = project.runs()
    assert run.status == "failed" and run.metrics == {"error": "OSError: tile t1.tif: input/output error"}


def test_each_kind_keeps_its_own_figures() -> None:
    status = {"state": "done", "val": {"iou": 0.5}, "model": "best.pt", "activation": {"activated": True},
              "tiles": 3, "error": None, "started": 10.0, "ended": 12.04}
    assert run_metrics(RunKind.TRAIN, status) == {"val": {"iou": 0.5}, "model": "best.pt",
                                                  "activation": {"activated": True}, "wall_s": 2.0}
    assert run_metrics(RunKind.BASELINE, status) == {"val": {"iou": 0.5}, "model": "best.pt", "wall_s": 2.0}
    assert run_metrics(RunKind.PREDICT, {**status, "error": "disk full"}) == {"tiles": 3, "error": "disk full",
                                                                              "wall_s": 2.0}


# ---------------------------------------------------------------- a project written by the previous version

#: ``runs/<id>/config.json`` as the catalog wrote it before runs had one writer: the Train page's request.
OLD_REQUEST = {"method": "pgssl", "profile": "test", "seed": 2, "device": "cpu", "init": "scratch",
               "time_budget_s": None, "data": {"train": 4, "pool": 1, "val": 2, "val_ids": ["a", "b"]}}
#: The run card training wrote over it, from before time budgets existed (no ``time_budget_s``).
OLD_CARD = {"train": {"method": "pgssl", "profile": "test", "seed": 2, "device": "cpu", "confidence_weighting": True,
                      "rounds": None, "init": "scratch", "profile_overrides": {"batch_size": 2}},
            "profile": {"name": "test"}, "init": {"kind": "scratch"}, "gsd_m": 0.3,
            "data": {"labelled": 4, "unlabelled": 1, "val": 2}}


def _old_run(project: Project, kind: str, config: dict, folder_file: dict | None) -> Path:
    run_id, folder = project.create_run(kind, config)  # the row format did not change
    if folder_file is not None:
        (folder / "config.json").write_text(json.dumps(folder_file))
    return folder


def test_a_project_of_the_previous_version_still_loads(project: Project) -> None:
    trained = _old_run(project, "train", OLD_REQUEST, OLD_CARD)
    never_started = _old_run(project, "train", OLD_REQUEST, OLD_REQUEST)  # failed before training wrote its card
    predicted = _old_run(project, "predict", {"model": str(trained / "best.pt")}, {"model": str(trained / "best.pt")})
    (trained / "best.pt").write_bytes(b"")
    (trained / "result.json").write_text(json.dumps({"method": "pgssl", "best_iou": 0.4, "history": []}))

    runs = project.runs()
    assert [r.kind for r in runs] == [RunKind.TRAIN, RunKind.TRAIN, RunKind.PREDICT]
    # the resume reads the Train page's choices back from the row, the rest takes the defaults
    assert run_train_config(runs[0]) == TrainConfig(method="pgssl", profile="test", seed=2, device="cpu",
                                                    init="scratch")
    # the run card (older schema) gives the config the run trained with, overrides included
    assert run_config(trained) == TrainConfig(profile="test", seed=2, device="cpu", init="scratch",
                                              profile_overrides={"batch_size": 2})
    assert run_info(trained / "best.pt").config == OLD_CARD
    # the request the catalog left in a folder is not taken for a run card
    for folder in (never_started, predicted):
        assert read_run_card(folder) is None and run_info(folder / "best.pt") is None
    with pytest.raises(PgsslError, match="does not hold a training config"):
        run_config(never_started)
    assert label_budget([trained, never_started]) == [
        {"run": trained.name, "method": "pgssl", "labelled": 4, "val_tiles": 2, "best_iou": 0.4}]


def test_the_baseline_of_a_run_gets_its_own_catalog_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pgssl_core.project.baseline_compare import baseline_dir, start_baseline_run
    from pgssl_core.project.data_plan import load_plan, plan_project_data
    from pgssl_core.train import run_training
    from tests.report.conftest import build_reference_project

    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(tmp_path / "train.lock"))
    with Project.open(build_reference_project(tmp_path / "p")) as project:
        config = TrainConfig(method="supervised", profile="test", device="cpu", init="scratch",
                             profile_overrides={"supervised_steps": 2})
        run_id, run_dir = project.create_run(RunKind.TRAIN, config.to_dict())
        data = load_plan(project, plan_project_data(project, seed=0))
        run_training(data, config, run_dir)
        started = start_baseline_run(project, run_id, data)
        assert started.job.join(120)["state"] == "done"
        baseline = project.run(started.run_id)
        assert baseline.kind is RunKind.BASELINE and baseline.status == "done"
        assert baseline.config["compared_with"] == run_id and baseline.config["out"] == str(baseline_dir(run_dir))
        assert baseline.config["train"]["method"] == "supervised" and baseline.metrics["model"].startswith(
            str(baseline_dir(run_dir)))
        assert [r.kind for r in project.runs()] == [RunKind.TRAIN, RunKind.BASELINE]
