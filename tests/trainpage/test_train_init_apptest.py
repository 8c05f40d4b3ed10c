"""Train page: where a run starts (base model by default, scratch) and the project's GSD setting."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from pgssl_core.train.jobs import read_status
from pgssl_core.train.project_data import project_gsd

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _train_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = "beijing-demo"
    at.run()
    at.switch_page("../pages/train.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_start_from_defaults_to_the_base_model_and_scratch_is_recorded(projects_env: Path) -> None:
    with Project.open(projects_env / "beijing-demo") as project:
        for record in project.tiles()[:2]:
            project.save_label(record.id, project.reference_mask(record.id), 0, complete=True)
    at = _train_page()
    picker = at.selectbox(key="train_init")
    assert picker.value == "base" and "scratch" in picker.options[1]
    picker.set_value("scratch").run()
    at.selectbox(key="train_profile").set_value("test").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    run_dir = projects_env / "beijing-demo" / "runs" / run_id
    deadline = time.monotonic() + 150
    while (read_status(run_dir) or {}).get("state") in (None, "queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert json.loads((run_dir / "config.json").read_text())["init"]["kind"] == "scratch"


def test_gsd_setting_is_saved_in_the_project(projects_env: Path) -> None:
    at = _train_page()
    at.number_input(key="gsd_working").set_value(0.5).run()
    at.button(key="gsd_save").click().run()
    assert not at.exception, at.exception
    with Project.open(projects_env / "beijing-demo") as project:
        assert project_gsd(project).working_gsd_m == 0.5
