"""Before any training, "Predict all tiles" uses the base model adapted to the project's tiles (BatchNorm
statistics only, no labels), says so, and names it on the map's source choice."""

from __future__ import annotations

import time
from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.project.adapted_model import MODELS_DIR, is_adapted_base
from tests.app.map.test_map_handoff_apptest import _map_page, _project


def test_predict_all_with_the_adapted_base_model(projects_env: Path) -> None:
    _project(projects_env, "lagos", reference=True)
    at = _map_page("lagos")
    assert any("adapted to your tiles (BatchNorm statistics only, no labels" in i.value for i in at.info)
    at.button(key="predict_all").click().run()
    assert not at.exception, at.exception
    made = sorted((projects_env / "lagos" / MODELS_DIR).glob("base_adapted_*.pt"))
    assert len(made) == 1
    deadline = time.monotonic() + 120
    with Project.open(projects_env / "lagos") as project:
        while time.monotonic() < deadline:
            runs = [r for r in project.runs() if r["kind"] == "predict"]
            if runs and runs[-1]["status"] not in ("created", "running"):
                break
            time.sleep(0.3)
        run = [r for r in project.runs() if r["kind"] == "predict"][-1]
    assert run["status"] == "done", run
    assert is_adapted_base(run["config"]["model"]) and Path(run["config"]["model"]) == made[0]
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="map_source").value == f"Prediction {run['id']} (base model adapted to your tiles)"
