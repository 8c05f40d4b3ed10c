"""Predict all -> map hand-off (issue 16, item 4) and the no-model message (item 10) with AppTest."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.mappage import counted
from pgssl_core.catalog import Project
from pgssl_core.project.active_model import set_active_model
from tests.app.main_script import MAIN
from tests.project.conftest import BUILDINGS, boxes_mask, make_tile


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


def _ended_prediction(project_dir: Path, timeout_s: float = 120) -> dict:
    """The project's newest prediction run once it has ended (or as it is when ``timeout_s`` has passed)."""
    deadline = time.monotonic() + timeout_s
    with Project.open(project_dir) as project:
        while True:
            runs = [r for r in project.runs() if r["kind"] == "predict"]
            if (runs and runs[-1]["status"] not in ("created", "running")) or time.monotonic() > deadline:
                return runs[-1]
            time.sleep(0.3)


def test_finished_prediction_is_shown_with_its_building_count(projects_env: Path, tiny_model_file: Path) -> None:
    _project(projects_env, "atlanta", reference=True)
    with Project.open(projects_env / "atlanta") as project:
        set_active_model(project, tiny_model_file)
    at = _map_page("atlanta")
    assert at.radio(key="map_source").value == "Reference masks (ground truth)"
    at.button(key="predict_all").click().run()
    assert not at.exception, at.exception
    run = _ended_prediction(projects_env / "atlanta")
    assert run["status"] == "done", run
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="map_source").value.startswith(f"Prediction {run['id']}")
    found = counted(run["metrics"]["footprints"], "building")  # "1 building", "12 buildings"
    assert any("Prediction finished" in s.value and f"{found} found" in s.value for s in at.success)
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


def test_predict_the_tiles_of_a_drawn_area(projects_env: Path, tiny_model_file: Path) -> None:
    """Issue 21: a rectangle drawn over one of three tiles predicts that tile only, and the map says so."""
    from pyproj import Transformer

    from app.map_interactive import STAND_IN_KEY
    from tests.app.map.drawing import Draws
    from tests.project.conftest import ORIGIN

    _project(projects_env, "atlanta", reference=True)
    with Project.open(projects_env / "atlanta") as project:
        set_active_model(project, tiny_model_file)
        second = project.tiles()[1].id
    left, top = ORIGIN[0] + 200.0 + 5.0, ORIGIN[1] - 5.0  # inside tile 1 (32 m tiles, 200 m apart)
    west, south, east, north = Transformer.from_crs(32650, 4326, always_xy=True).transform_bounds(
        left, top - 20.0, left + 20.0, top)
    at = AppTest.from_file(MAIN, default_timeout=240)
    at.query_params["project"] = "atlanta"
    at.session_state[STAND_IN_KEY] = Draws(west, south, east, north)
    at.run()
    at.switch_page("../pages/map.py").run()
    assert at.button(key="predict_all").label == "Predict all tiles"
    at.toggle(key="predict_part").set_value(True).run()
    assert not at.exception, at.exception
    assert at.number_input(key="predict_area_West").value == round(west, 6)
    assert any("1 of 3 tiles in this area" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.button(key="predict_all").label == "Predict the 1 tile in the area"
    at.button(key="predict_all").click().run()
    assert not at.exception, at.exception
    run = _ended_prediction(projects_env / "atlanta")
    assert run["status"] == "done" and run["config"]["tile_ids"] == [second], run
    assert json.loads((Path(run["path"]) / "manifest.json").read_text())["tile_ids"] == [second]
    at.run()
    assert not at.exception, at.exception
    label = f"Prediction {run['id']} ({tiny_model_file.name}, 1 tile of a drawn area)"
    assert at.radio(key="map_source").value == label
    assert at.toggle(key="predict_part").value  # the area outlives the run, during which no toggle was drawn
    assert any("1 of 3 tiles in this area" in c.value for c in at.caption), [c.value for c in at.caption]
