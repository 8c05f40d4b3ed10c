"""The Label page in a real browser: paint a stroke, find it on disk, undo / redo it, reload and see it again."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from pgssl_core.catalog import Project
from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e

STROKE_ROW = 150  # canvas px; the 256 px demo tiles are shown at 512 px, so tile row 75
STROKE_COLS = (100, 300)  # canvas px -> tile columns 50 .. 150


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _saved(projects, tile_id: str) -> tuple[np.ndarray, int]:
    with Project.open(projects / "beijing-demo") as project:
        return project.load_label(tile_id)


def _stroke_is_building(mask: np.ndarray) -> bool:
    row = STROKE_ROW // 2
    return bool((mask[row, 60:140] == 1).all())


def _canvas_pixels(page) -> np.ndarray:
    """What the canvas looks like on screen, (512, 512, 3) uint8."""
    shot = page.locator("canvas.upper-canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))


def _open_canvas(page, url: str):
    page.goto(url, wait_until="domcontentloaded")
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=120_000)
    page.locator("canvas.dc-background-canvas").wait_for(state="attached", timeout=30_000)
    _wait_idle(page)
    time.sleep(1.0)  # the background image is drawn asynchronously after the canvas appears
    return canvas


def _wait_idle(page, quiet_s: float = 2.0, timeout: float = 120) -> None:
    """Until no script run has been in progress for ``quiet_s``: while one runs, Streamlit fades the canvas
    (a reload runs the page again when the canvas reports its first state; slow on a loaded machine)."""
    status = page.locator('[data-testid="stStatusWidget"]')
    deadline, quiet_since = time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        if status.is_visible():
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.2)
    raise AssertionError(f"the app kept running for {timeout:.0f} s")


def test_paint_save_undo_reload(app_server, page) -> None:
    projects = app_server["projects"]
    canvas = _open_canvas(page, f"{app_server['url']}/label?project=beijing-demo")
    tile_id = parse_qs(urlparse(page.url).query)["tile"][0]  # the page puts the tile in the URL
    mask, version = _saved(projects, tile_id)
    assert version == 0 and (mask == 255).all()
    before = _canvas_pixels(page)

    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + STROKE_COLS[0], y0 + STROKE_ROW)
    page.mouse.down()
    page.mouse.move(x0 + STROKE_COLS[1], y0 + STROKE_ROW, steps=20)
    page.mouse.up()
    _wait_until(lambda: _stroke_is_building(_saved(projects, tile_id)[0]), 60, "the stroke saved as building")
    mask, version = _saved(projects, tile_id)
    assert (mask[STROKE_ROW // 2 + 20:] == 255).all()  # nothing far from the stroke was labelled
    page.get_by_text("Saved automatically", exact=False).first.wait_for(timeout=30_000)
    screenshot(page, "label-stroke-saved")

    # the canvas toolbar's undo also undoes on disk; redo brings it back
    canvas.hover()
    page.get_by_role("button", name="Undo", exact=True).click()
    _wait_until(lambda: (_saved(projects, tile_id)[0] == 255).all(), 60, "undo to reach the disk")
    page.get_by_role("button", name="Redo", exact=True).click()
    _wait_until(lambda: _stroke_is_building(_saved(projects, tile_id)[0]), 60, "redo to reach the disk")
    saved_version = _saved(projects, tile_id)[1]
    assert saved_version >= version + 2

    # reload: a new session; same tile (from the URL), the saved stroke is tinted into the canvas background
    page.reload(wait_until="domcontentloaded")
    _open_canvas(page, page.url)
    assert parse_qs(urlparse(page.url).query)["tile"][0] == tile_id
    after = _canvas_pixels(page).astype(int)
    band = (slice(STROKE_ROW - 2, STROKE_ROW + 3), slice(STROKE_COLS[0] + 20, STROKE_COLS[1] - 20))
    redder = (after[band][..., 0] - after[band][..., 2]) - (before[band][..., 0].astype(int) - before[band][..., 2])
    assert redder.mean() > 40, redder.mean()  # building tint: more red, less blue than the bare image
    far = (slice(400, 500), slice(0, 512))
    assert np.abs(after[far] - before[far]).mean() < 3  # the rest of the tile is unchanged
    page.get_by_text("1 / 64", exact=False).first.wait_for(timeout=30_000)  # labelled-tiles counter
    assert _saved(projects, tile_id)[1] == saved_version  # reloading saved nothing
    screenshot(page, "label-after-reload")

    # keyboard-free navigation: Next goes to another tile, with an empty label
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_text("2 / 64", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query)["tile"][0] != tile_id, timeout=30_000)


def _stroke(page, canvas, row: int, cols: tuple[int, int]) -> None:
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + cols[0], box["y"] + row)
    page.mouse.down()
    page.mouse.move(box["x"] + cols[1], box["y"] + row, steps=20)
    page.mouse.up()


def test_brush_ring_trimmed_toolbar_eraser_and_rest_is_background(app_server, page) -> None:
    """Issue 16 item 9 in Chromium: a ring cursor the size of the brush, no send/edit/reorder buttons,
    the eraser makes painted pixels unlabelled again, and "Rest is background" reads 100%."""
    projects = app_server["projects"]
    canvas = _open_canvas(page, f"{app_server['url']}/label?project=beijing-demo")
    page.get_by_role("button", name="Next ▶").click()  # a tile no other case paints
    page.get_by_text("2 / 64", exact=False).first.wait_for(timeout=30_000)
    canvas = _open_canvas(page, page.url)
    tile_id = parse_qs(urlparse(page.url).query)["tile"][0]

    # the ring cursor: set by our style inside the canvas's shadow root (polled in every 250 ms)
    _wait_until(lambda: "url(" in canvas.evaluate("c => getComputedStyle(c).cursor"), 30, "the ring cursor")
    canvas.hover()
    toolbar = page.get_by_role("button", name="Undo", exact=True)
    toolbar.wait_for(timeout=30_000)
    for hidden in ("Update the app with this drawing", "Edit", "Bring forward", "Send backward"):
        assert not page.get_by_role("button", name=hidden, exact=True).is_visible(), hidden
    assert page.get_by_role("button", name="Reset canvas & history", exact=True).is_visible()

    _stroke(page, canvas, 150, (100, 300))  # building: tile row 75, columns 50 .. 150
    _wait_until(lambda: _stroke_is_building(_saved(projects, tile_id)[0]), 60, "the building stroke saved")
    page.get_by_text("Eraser", exact=True).click()
    _wait_idle(page)  # the rerun hands the canvas the eraser colour
    _stroke(page, canvas, 150, (180, 220))  # erase tile columns 90 .. 110 of the stroke
    _wait_until(lambda: (_saved(projects, tile_id)[0][75, 95:105] == 255).all(), 120, "the erased pixels saved")
    mask = _saved(projects, tile_id)[0]
    assert (mask[75, 55:80] == 1).all() and (mask[75, 120:145] == 1).all()  # the rest of the stroke stays
    page.get_by_text("Saved automatically", exact=False).first.wait_for(timeout=30_000)
    canvas.hover(position={"x": 300, "y": 300})
    screenshot(page, "label-eraser-ring-cursor")

    page.get_by_role("button", name="Rest is background").click()
    page.get_by_text("Complete: unpainted pixels count as background", exact=False).wait_for(timeout=30_000)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="This tile labelled")
    _wait_until(lambda: "100%" in metric.inner_text(), 30, "100% labelled")
    canvas = _open_canvas(page, page.url)
    tint = _canvas_pixels(page)[400:500, :].astype(int)
    assert (tint[..., 2] - tint[..., 0]).mean() > 20  # the background tint (blue) over the unpainted part
    screenshot(page, "label-rest-is-background")
