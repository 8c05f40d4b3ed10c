"""Drawing an area in Chromium (issue 21): the "Draw area" tool of the import-from-a-tile-service map fills the
area's fields, and a rectangle drawn over one tile of a project predicts that tile only.

The rectangle is drawn as a user would: a click on the tool's button, then a mouse drag over the map (press,
moves, release), through the page's own mouse; only the pixel positions are read from Leaflet
(``map.latLngToContainerPoint``), and the fields are compared with what Leaflet says those pixels are.
"""

from __future__ import annotations

import re

import pytest

from pgssl_core.catalog import Project
from pgssl_core.project.active_model import set_active_model
from pgssl_core.project.predict_area import tile_outlines
from tests.e2e.artifacts import screenshot
from tests.project.conftest import BUILDINGS, boxes_mask, make_tile, tiny_model_file  # noqa: F401 - fixture
from tests.xyz.conftest import tile_server  # noqa: F401 - fixture: a local tile service

pytestmark = pytest.mark.e2e

DRAW_BUTTON = ".pgssl-draw-area"
FIELDS = ("West", "South", "East", "North")


def _drawing_frame(page):
    """The st_folium frame that carries the "Draw area" tool, once its map is drawn."""
    page.wait_for_function(
        """(sel) => Array.from(document.querySelectorAll('iframe')).some(f => {
            try { return f.contentDocument && f.contentDocument.querySelector(sel); } catch (e) { return false; }
        })""", arg=DRAW_BUTTON, timeout=120_000)
    return next(f for f in page.frames if f.url and "streamlit_folium" in f.url and f.query_selector(DRAW_BUTTON))


def _drag(page, frame, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press "Draw area", then drag from ``start`` to ``end`` (pixels inside the map) with the page's mouse."""
    frame.frame_element().scroll_into_view_if_needed()
    frame.click(DRAW_BUTTON)
    box = frame.frame_element().bounding_box()
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + (start[0] + end[0]) / 2, box["y"] + (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=5)
    page.mouse.up()


def _latlng(frame, x: float, y: float) -> tuple[float, float]:
    point = frame.evaluate("([x, y]) => { var p = window.map.containerPointToLatLng([x, y]); return [p.lat, p.lng]; }",
                           [x, y])
    return float(point[0]), float(point[1])


def _fields(page) -> list[float]:
    return [float(page.get_by_label(f"{name} (°)").input_value()) for name in FIELDS]


def test_drawing_a_rectangle_fills_the_import_area(app_server, page, tile_server) -> None:  # noqa: F811
    page.goto(app_server["url"] + "/?project=beijing-demo", wait_until="domcontentloaded")
    page.get_by_text("Beijing demo", exact=False).first.wait_for(timeout=120_000)
    page.get_by_text("Import from a tile service").click()
    page.get_by_label("Tile URL template").fill(tile_server.url("good"))
    page.get_by_label("Tile URL template").press("Enter")
    page.get_by_label("Attribution (as the service's terms ask)").fill("Imagery: the test tile service")
    page.get_by_label("Attribution (as the service's terms ask)").press("Enter")
    page.get_by_text("Bounding box").click()
    frame = _drawing_frame(page)
    frame.wait_for_selector("img.leaflet-tile-loaded", timeout=60_000)  # the service's imagery is shown
    before = _fields(page)
    size = frame.evaluate("() => { var s = window.map.getSize(); return [s.x, s.y]; }")
    start, end = (size[0] * 0.30, size[1] * 0.35), (size[0] * 0.55, size[1] * 0.70)
    (north, west), (south, east) = _latlng(frame, *start), _latlng(frame, *end)
    _drag(page, frame, start, end)
    page.wait_for_function("(v) => { var i = Array.from(document.querySelectorAll('input'))"
                           ".find(e => e.getAttribute('aria-label') === 'West (°)'); return i && i.value !== v; }",
                           arg=page.get_by_label("West (°)").input_value(), timeout=60_000)
    filled = _fields(page)
    assert filled != before
    # what Leaflet says the dragged pixels are, to the fields' 5 decimals (about 1 m)
    assert filled == pytest.approx([west, south, east, north], abs=2e-5), (filled, [west, south, east, north])
    count = page.get_by_text(re.compile(r"at zoom \d+: [\d,]+ tiles")).first
    count.wait_for(timeout=30_000)
    page.get_by_label("East (°)").fill(f"{east + 0.001:.5f}")  # still editable by hand
    page.get_by_label("East (°)").press("Enter")
    page.wait_for_timeout(1500)
    assert float(page.get_by_label("East (°)").input_value()) == pytest.approx(east + 0.001, abs=1e-5)
    frame.frame_element().scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    screenshot(page, "home-tile-service-drawn-area")


def test_predicting_a_drawn_part_of_a_project(app_server, page, tiny_model_file) -> None:  # noqa: F811
    root = app_server["projects"] / "drawn-part"
    with Project.create(root, "Drawn part") as project:
        for i, boxes in enumerate(BUILDINGS):
            project.add_tile(make_tile(i), f"tile{i}.tif", reference_mask=boxes_mask(boxes))
        set_active_model(project, tiny_model_file)
        records = project.tiles()
        outline = tile_outlines(records)[records[1].id]  # the middle tile of three, 200 m apart
    page.goto(app_server["url"] + "/map?project=drawn-part", wait_until="domcontentloaded")
    page.get_by_text("Map · Drawn part", exact=False).first.wait_for(timeout=180_000)
    page.get_by_text("Only the tiles in an area I draw").click()
    frame = _drawing_frame(page)
    west, south, east, north = outline.bounds
    x0, y0 = frame.evaluate("([lat, lng]) => { var p = window.map.latLngToContainerPoint([lat, lng]); "
                            "return [p.x, p.y]; }", [north, west])
    x1, y1 = frame.evaluate("([lat, lng]) => { var p = window.map.latLngToContainerPoint([lat, lng]); "
                            "return [p.x, p.y]; }", [south, east])
    pad = 4  # px: a little inside the tile's outline, as a hand would draw
    _drag(page, frame, (x0 + pad, y0 + pad), (x1 - pad, y1 - pad))
    page.get_by_text("1 of 3 tiles in this area", exact=False).wait_for(timeout=60_000)
    button = page.get_by_role("button", name="Predict the 1 tile in the area")
    button.wait_for(timeout=30_000)
    frame = _drawing_frame(page)
    frame.frame_element().scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    screenshot(page, "map-predict-drawn-area")
    button.click()
    page.get_by_text("Prediction finished:", exact=False).wait_for(timeout=180_000)
    page.get_by_text("1 tile of a drawn area", exact=False).first.wait_for(timeout=30_000)
    with Project.open(root) as project:
        run = [r for r in project.runs() if r["kind"] == "predict"][-1]
    assert run["config"]["tile_ids"] == [records[1].id], run
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=60_000)  # rerun over
    # the area outlived the run, during which the page drew no toggle and no fields
    page.get_by_text("1 of 3 tiles in this area", exact=False).wait_for(timeout=30_000)
    assert page.get_by_role("switch", name="Only the tiles in an area I draw").is_checked()
    page.get_by_text("Prediction finished:", exact=False).scroll_into_view_if_needed()
    screenshot(page, "map-predicted-drawn-area")
