"""Smoke tests of the Train page with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import training
from pgssl_core.catalog import Project
from pgssl_core.catalog.gsd_settings import project_gsd
from pgssl_core.project.active_model import active_model_setting
from pgssl_core.project.training_job import read_status
from tests.app.main_script import MAIN


def _open_train_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = "beijing-demo"
    at.run()
    at.switch_page("../pages/train.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _wait_until_finished(run_dir: Path, timeout_s: float = 150) -> Path:
    """Poll a page-started run's status file until it leaves queued/running (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    while (read_status(run_dir) or {}).get("state") in (None, "queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    return run_dir


def _label_two_tiles(projects: Path) -> None:
    with Project.open(projects / "beijing-demo") as project:
        for record in project.tiles()[:2]:
            project.save_label(record.id, project.reference_mask(record.id), 0, complete=True)


def test_page_without_labels_explains_and_disables_start(projects_env: Path) -> None:
    at = _open_train_page()
    assert at.title[0].value.startswith("Train")
    assert any("label at least 2 tiles" in w.value for w in at.warning)
    assert at.button(key="train_start").disabled
    assert any("Device" in m.value for m in at.markdown)
    assert any("No training run yet" in c.value for c in at.caption)


def test_start_a_test_run_from_the_page(projects_env: Path) -> None:
    _label_two_tiles(projects_env)
    at = _open_train_page()
    assert any("2 labelled for training" in m.value for m in at.markdown)
    assert any("reference (ground-truth) masks" in c.value for c in at.caption)
    assert any("Estimated duration" in m.value for m in at.markdown)
    at.selectbox(key="train_profile").set_value("test").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    run_dir = _wait_until_finished(projects_env / "beijing-demo" / "runs" / run_id)
    assert read_status(run_dir)["state"] == "done"
    time.sleep(1.0)  # the watcher files the result in the catalog right after
    at.run()
    assert not at.exception, at.exception
    history = at.dataframe[-1].value
    assert history.loc[0, "run"] == run_id and history.loc[0, "state"] == "done"
    # issue 16 item 5: the finished run's validation IoU with its interval over the validation tiles, and a
    # per-tile table (the demo validates on the reference masks of the tiles nobody labelled)
    # reference masks are fully labelled: an accuracy, or "too little to be its accuracy" on few tiles (issue 21)
    line = next(m.value for m in at.markdown if m.value.startswith(("**The model's accuracy on its validation tiles:",
                                                                      "**Validation of the run's model (too little")))
    assert "% interval" in line and "validation tiles" in line, line
    tiles = next(d.value for d in at.dataframe if "IoU" in d.value.columns)
    assert len(tiles) >= 2 and tiles["Tile"].str.endswith(".tif").all()
    at.button(key="train_set_active").click().run()
    with Project.open(projects_env / "beijing-demo") as project:
        assert active_model_setting(project) == f"runs/{run_id}/best.pt"


def test_second_tab_sees_the_running_job_and_cancels_it(projects_env: Path) -> None:
    """A run started elsewhere (another tab: same server process, same registry) is shown live; the
    start button is disabled; Cancel stops it. The GPU-sized profile keeps it running long enough."""
    from app import training
    from pgssl_core.train import TrainConfig

    _label_two_tiles(projects_env)
    registry = training.job_registry()  # the per-process registry the page uses
    with Project.open(projects_env / "beijing-demo") as project:
        run_id = training.start_training(registry, project, TrainConfig(profile="standard", device="cpu"))
    try:
        at = _open_train_page()
        assert at.button(key="train_start").disabled
        assert any(run_id in i.value and "one training run at a time" in i.value for i in at.info)
        assert any(run_id in m.value for m in at.markdown)  # the live panel shows that run
        at.button(key="train_cancel").click().run()
        assert not at.exception, at.exception
        final = registry.get(run_id).job.join(timeout=120)  # a standard run would take far longer
        assert final["state"] == "cancelled", final
    finally:
        if training.cancel_training(registry, run_id):  # never leave a run behind when something failed
            registry.get(run_id).job.join(timeout=120)


def test_start_from_defaults_to_the_base_model_and_scratch_is_recorded(projects_env: Path) -> None:
    _label_two_tiles(projects_env)
    at = _open_train_page()
    picker = at.selectbox(key="train_init")
    assert picker.value == "base" and "scratch" in picker.options[1]
    picker.set_value("scratch").run()
    at.selectbox(key="train_profile").set_value("test").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    run_dir = _wait_until_finished(projects_env / "beijing-demo" / "runs" / run_id)
    assert json.loads((run_dir / "config.json").read_text())["init"]["kind"] == "scratch"


def test_gsd_setting_is_saved_in_the_project(projects_env: Path) -> None:
    at = _open_train_page()
    labels = [e.label for e in at.expander if e.label.startswith("Ground resolution")]
    assert labels == ["Ground resolution: working GSD 0.3 m (suggested for your imagery)"]
    at.number_input(key="gsd_working").set_value(0.5).run()
    at.button(key="gsd_save").click().run()
    assert not at.exception, at.exception
    with Project.open(projects_env / "beijing-demo") as project:
        assert project_gsd(project).working_gsd_m == 0.5
    assert "Ground resolution: working GSD 0.5 m" in [e.label for e in at.expander]


def test_the_time_budget_is_offered_per_profile(projects_env: Path) -> None:
    _label_two_tiles(projects_env)
    at = _open_train_page()
    # quick: 15 minutes first on a CPU (the profile's steps on a GPU); the duration is then the budget's
    first = "15 min" if training.device_line().startswith("cpu") else "profile steps"
    assert at.selectbox(key="train_budget_quick").value == first
    at.selectbox(key="train_budget_quick").set_value("15 min").run()
    assert any("at most 15 min 00 s (the time budget)" in m.value for m in at.markdown)
    at.selectbox(key="train_budget_quick").set_value("profile steps").run()
    assert any("Estimated duration:** about" in m.value for m in at.markdown)
    # the test profile (seconds, for the suite) starts at its own step counts
    at.selectbox(key="train_profile").set_value("test").run()
    assert at.selectbox(key="train_budget_test").value == "profile steps"
    at.selectbox(key="train_budget_test").set_value("5 min").run()
    assert not at.exception, at.exception
    assert any("at most 5 min 00 s" in m.value for m in at.markdown)
    assert any("--time-budget 5" in c.value for c in at.code)  # the distributed command carries it
