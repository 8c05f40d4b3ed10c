"""Train -> Map hand-off (issue 16, item 3; issue 21): a finished run's model becomes the active model only
when it beats the active one (the base model when there is none) beyond the noise; otherwise the page shows
both figures with the reason and the user may still choose it in one click."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from pgssl_core.project.active_model import active_model_setting, set_active_model
from pgssl_core.project.training_job import read_status
from tests.app.main_script import MAIN

pytestmark = pytest.mark.slow  # each waits for a real (tiny) training run: about 40 s on 2 shared cores

PROJECT = "beijing-demo"


def _label_two_tiles(projects: Path) -> None:
    with Project.open(projects / PROJECT) as project:
        for record in project.tiles()[:2]:
            project.save_label(record.id, project.reference_mask(record.id), 0, complete=True)


def _run_test_profile(projects: Path) -> tuple[AppTest, str]:
    """Start a run of the tiny test profile from the Train page and wait until it is filed as done."""
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = PROJECT
    at.run()
    at.switch_page("../pages/train.py").run()
    at.selectbox(key="train_profile").set_value("test").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    deadline = time.monotonic() + 150
    with Project.open(projects / PROJECT) as project:
        while project.run(run_id)["status"] in ("created", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
    status = read_status(projects / PROJECT / "runs" / run_id)
    assert status["state"] == "done", status
    at.run()
    assert not at.exception, at.exception
    return at, run_id


def test_a_run_worse_than_the_base_model_is_not_activated(projects_env: Path, scratch_init: None) -> None:
    _label_two_tiles(projects_env)
    at, run_id = _run_test_profile(projects_env)  # seconds of training from random weights
    with Project.open(projects_env / PROJECT) as project:
        assert active_model_setting(project) is None  # the base model stays in use
    warning = next(w.value for w in at.warning if "not activated" in w.value)
    assert "for the base model on your" in warning and "validation tiles" in warning
    labels = [m.label for m in at.metric]
    assert "IoU: this run's model" in labels and "IoU: the base model" in labels  # side by side
    candidate = next(m for m in at.metric if m.label == "IoU: this run's model")
    # the gain was not adopted: shown grey, not green
    assert candidate.delta.endswith("(not adopted)") and candidate.proto.color == MetricProto.MetricColor.GRAY
    history = at.dataframe[-1].value
    assert history.loc[0, "when finished"].startswith("not activated: IoU")
    at.button(key="train_use_finished").click().run()  # still the user's choice
    assert not at.exception, at.exception
    with Project.open(projects_env / PROJECT) as project:
        assert active_model_setting(project) == f"runs/{run_id}/best.pt"
    # chosen against the check: said so, not a green "finished" as if it had won
    assert not at.success and any("You chose this run's model by hand" in w.value for w in at.warning)
    candidate = next(m for m in at.metric if m.label == "IoU: this run's model")
    assert candidate.delta.endswith("(chosen by hand)") and candidate.proto.color == MetricProto.MetricColor.GRAY


def test_a_chosen_model_is_not_replaced(projects_env: Path, scratch_init: None) -> None:
    _label_two_tiles(projects_env)
    chosen = projects_env / PROJECT / "models" / "mine.pt"
    chosen.parent.mkdir(parents=True, exist_ok=True)
    chosen.write_bytes(b"a model the user chose")
    with Project.open(projects_env / PROJECT) as project:
        set_active_model(project, chosen)
    at, run_id = _run_test_profile(projects_env)
    with Project.open(projects_env / PROJECT) as project:
        assert active_model_setting(project) == "models/mine.pt"
    assert any("not activated" in w.value and "the active model (models/mine.pt)" in w.value for w in at.warning)
    at.button(key="train_use_finished").click().run()
    assert not at.exception, at.exception
    with Project.open(projects_env / PROJECT) as project:
        assert active_model_setting(project) == f"runs/{run_id}/best.pt"
