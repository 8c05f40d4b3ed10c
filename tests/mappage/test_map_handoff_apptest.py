"""Predict all -> map hand-off (issue 16, item 4) and the no-model message (item 10) with AppTest."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from pgssl_core.project.active_model import set_active_model
from tests.project.conftest import BUILDINGS, boxes_mask, make_tile

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _project(root: Path, slug: str, reference: bool) -> None:
    with Project.create(root / slug, slug.title()) as project:
        for i, boxes in enumerate(BUILDINGS):
            project.add_tile(make_tile(i), f"tile{i}.tif", reference_mask=boxes_mask(boxes) if reference else None)


def _map_page(slug: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=240)
    at.query_params["project"] = slug
    at.run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    return at


def test_finished_prediction_is_shown_with_its_building_count(projects_env: Path, tiny_model_file: Path) -> None:
    _project(projects_env, "atlanta", reference=True)
    with Project.open(projects_env / "atlanta") as project:
        set_active_model(project, tiny_model_file)
    at = _map_page("atlanta")
    assert at.radio(key="map_source").value == "Reference masks (ground truth)"
    at.button(key="predict_all").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + 120
    with Project.open(projects_env / "atlanta") as project:
        while time.monotonic() < deadline:
            runs = [r for r in project.runs() if r["kind"] == "predict"]
            if runs and runs[-1]["status"] not in ("created", "running"):
                break
            time.sleep(0.3)
        run = [r for r in project.runs() if r["kind"] == "predict"][-1]
    assert run["status"] == "done", run
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="map_source").value.startswith(f"Prediction {run['id']}")
    found = run["metrics"]["footprints"]
    assert any("Prediction finished" in s.value and f"{found:,} buildings found" in s.value for s in at.success)
    at.run()  # the message is said once; the map keeps showing the prediction
    assert not any("Prediction finished" in s.value for s in at.success)
    assert at.radio(key="map_source").value.startswith(f"Prediction {run['id']}")


def test_no_model_and_no_reference_says_one_thing(projects_env: Path) -> None:
    _project(projects_env, "plain", reference=False)
    at = _map_page("plain")
    texts = [c.value for c in at.caption] + [i.value for i in at.info]
    # without a trained model the page offers the shipped base model (or says there is no model, in an
    # installation without it); it never claims to show reference masks the project does not have
    assert any("No active model yet" in t or "base building model" in t for t in texts)
    assert any("no reference masks" in t for t in texts)
    assert not any("shows the reference masks" in t for t in texts)
