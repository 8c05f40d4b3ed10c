"""Smoke tests of the Label page with Streamlit's AppTest; a fake stands in for the browser-only canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app.canvas import STAND_IN_KEY
from pgssl_core.catalog import Project
from pgssl_core.labeling import DEFAULT_PALETTE
from pgssl_core.models import ModelConfig, create_model, save_model
from pgssl_core.project.active_model import set_active_model
from tests.app.main_script import MAIN

STROKE_ALPHA = round(255 * DEFAULT_PALETTE.opacity)


class FakeCanvas:
    """Stands in for ``st_canvas``: returns the RGBA strokes a test has "painted" (canvas px).

    Like the real component, strokes belong to one widget key: a canvas under a new key is empty.
    """

    def __init__(self) -> None:
        self.regions: list[tuple[slice, slice, tuple[int, int, int]]] = []
        self.calls: list[dict] = []
        self.key: str | None = None

    def paint(self, rows: slice, cols: slice, rgb: tuple[int, int, int] = DEFAULT_PALETTE.building) -> None:
        self.regions.append((rows, cols, rgb))

    def __call__(self, background, stroke_color, stroke_width, height, width, key):
        self.calls.append({"size": background.size, "color": stroke_color, "width": stroke_width,
                           "height": height, "width_px": width, "key": key})
        if key != self.key:
            if self.key is not None:
                self.regions = []  # a new key is a new, empty canvas
            self.key = key
        if not self.regions:
            return None  # like the component before the first stroke
        rgba = np.zeros((height, width, 4), np.uint8)
        for rows, cols, rgb in self.regions:
            rgba[rows, cols] = (*rgb, STROKE_ALPHA)
        return rgba


def open_label_page(fake: FakeCanvas, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("../pages/label.py")
    at.session_state[STAND_IN_KEY] = fake
    at.run()
    assert not at.exception, at.exception
    return at


def demo(projects: Path) -> Project:
    return Project.open(projects / "beijing-demo")


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_stroke_is_saved_and_restored(projects_env: Path) -> None:
    fake = FakeCanvas()
    at = open_label_page(fake)
    assert at.title[0].value.startswith("Label")
    tile_id = at.query_params["tile"]
    # zero-label start: before any training the model assistance uses the shipped base model, and says so
    assert any("base building model" in i.value for i in at.info)
    assert at.button(key="label_prefill") is not None
    call = fake.calls[-1]
    assert (call["height"], call["width_px"]) == (512, 512) and call["size"] == (512, 512)  # 256 px tile at 2x

    fake.paint(slice(0, 100), slice(0, 100))  # canvas px -> tile rows/cols 0..49
    at.run()
    assert not at.exception, at.exception
    with demo(projects_env) as project:
        mask, version = project.load_label(tile_id)
    assert version == 1 and (mask[:50, :50] == 1).all() and (mask[50:] == 255).all()
    assert any("Saved automatically" in c.value for c in at.caption)
    assert next(m for m in at.metric if m.label == "Labelled tiles").value.startswith("1 /")

    at.run()  # a rerun with the same strokes saves nothing
    with demo(projects_env) as project:
        assert project.load_label(tile_id)[1] == 1

    # a browser reload: new session, same URL -> same tile, saved label shown, canvas empty again
    fresh = FakeCanvas()
    again = open_label_page(fresh, {"project": "beijing-demo", "tile": tile_id})
    assert again.query_params["tile"] == tile_id
    assert next(m for m in again.metric if m.label == "This tile labelled").value == "4%"
    assert fresh.calls[-1]["key"] != fake.calls[-1]["key"]


def test_navigation_brush_and_actions(projects_env: Path) -> None:
    fake = FakeCanvas()
    at = open_label_page(fake)
    first = at.query_params["tile"]
    button(at, "label_next").click().run()
    second = at.query_params["tile"]
    assert second != first
    button(at, "label_prev").click().run()
    assert at.query_params["tile"] == first

    at.radio(key="label_brush").set_value("Background").run()
    at.slider(key="label_brush_width").set_value(30).run()
    assert fake.calls[-1]["color"] == DEFAULT_PALETTE.css(DEFAULT_PALETTE.background)
    assert fake.calls[-1]["width"] == 30
    fake.paint(slice(0, 20), slice(0, 20), DEFAULT_PALETTE.background)
    at.run()

    button(at, "label_complete").click().run()
    assert not at.exception, at.exception
    assert any("Complete" in s.value for s in at.success)
    with demo(projects_env) as project:
        assert project.tile(first).label_complete
        assert (project.load_label(first)[0][:10, :10] == 0).all()

    button(at, "label_clear").click().run()
    with demo(projects_env) as project:
        assert (project.load_label(first)[0] == 255).all()
    button(at, "label_undo_bulk").click().run()
    with demo(projects_env) as project:
        assert (project.load_label(first)[0][:10, :10] == 0).all()

    button(at, "label_next_unlabelled").click().run()
    assert at.query_params["tile"] not in (first,)


def test_stale_version_warns_and_keeps_other_tab(projects_env: Path) -> None:
    fake = FakeCanvas()
    at = open_label_page(fake)
    tile_id = at.query_params["tile"]
    with demo(projects_env) as project:  # another tab saves first
        other = np.full((256, 256), 255, np.uint8)
        other[200:, 200:] = 1
        project.save_label(tile_id, other, 0)
    fake.paint(slice(0, 40), slice(0, 40))
    at.run()
    assert not at.exception, at.exception
    assert any("another tab" in w.value for w in at.warning)
    with demo(projects_env) as project:
        mask, version = project.load_label(tile_id)
    assert version == 1 and (mask[200:, 200:] == 1).all() and (mask[:20, :20] == 255).all()


def test_model_prefill_and_label_these_next(projects_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.labeling.RANKING_CANDIDATES", 12)  # keeps the CPU test short
    torch.manual_seed(0)
    config = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))
    model_path = projects_env / "beijing-demo" / "runs" / "tiny.pt"
    save_model(model_path, create_model(config), config)
    with demo(projects_env) as project:
        set_active_model(project, project.root / "runs" / "tiny.pt")  # stored relative to the project

    fake = FakeCanvas()
    at = open_label_page(fake)
    tile_id = at.query_params["tile"]
    assert not any("available after training" in c.value for c in at.caption)
    button(at, "label_prefill").click().run()
    assert not at.exception, at.exception
    with demo(projects_env) as project:
        mask, version = project.load_label(tile_id)
    assert version == 1 and set(np.unique(mask)) <= {0, 1}  # every pixel pre-filled by the model
    button(at, "label_undo_bulk").click().run()
    with demo(projects_env) as project:
        assert (project.load_label(tile_id)[0] == 255).all()

    button(at, "label_rank").click().run()
    assert not at.exception, at.exception
    ranked = [b for b in at.button if (b.key or "").startswith("label_rank_")]
    assert len(ranked) == 10
    target = ranked[0].key.removeprefix("label_rank_")
    ranked[0].click().run()
    assert at.query_params["tile"] == target


def test_eraser_rest_is_background_width_and_zoom(projects_env: Path) -> None:
    """Issue 16 item 9: the eraser returns pixels to unlabelled; "Rest is background" reads 100%; the brush
    width survives a reload; strokes on a zoomed canvas land in the zoomed part of the tile."""
    fake = FakeCanvas()
    at = open_label_page(fake)
    tile_id = at.query_params["tile"]
    fake.paint(slice(0, 100), slice(0, 100))  # building: tile rows/cols 0..49
    at.run()
    at.radio(key="label_brush").set_value("Eraser").run()
    assert fake.calls[-1]["color"] == DEFAULT_PALETTE.css(DEFAULT_PALETTE.eraser)
    fake.paint(slice(0, 40), slice(0, 40), DEFAULT_PALETTE.eraser)  # erases tile rows/cols 0..19
    at.run()
    assert not at.exception, at.exception
    with demo(projects_env) as project:
        mask = project.load_label(tile_id)[0]
    assert (mask[:20, :20] == 255).all() and (mask[20:50, 20:50] == 1).all()

    share = next(m for m in at.metric if m.label == "This tile labelled")
    assert share.value == f"{(50 * 50 - 20 * 20) / 256 ** 2:.0%}"
    button(at, "label_complete").click().run()
    assert next(m for m in at.metric if m.label == "This tile labelled").value == "100%"

    at.slider(key="label_brush_width").set_value(37).run()
    again = open_label_page(FakeCanvas(), {"project": "beijing-demo", "tile": tile_id})  # a reload
    assert again.slider(key="label_brush_width").value == 37

    # zoom 2x: the canvas shows the central 128 x 128 tile px at 512 px; pan right by half a window
    zoomed = FakeCanvas()
    at = open_label_page(zoomed, {"project": "beijing-demo", "tile": tile_id})
    at.radio(key="label_zoom").set_value(2).run()
    button(at, "label_pan_right").click().run()
    assert not at.exception, at.exception
    call = zoomed.calls[-1]
    assert (call["height"], call["width_px"]) == (512, 512)
    at.radio(key="label_brush").set_value("Background").run()
    zoomed.paint(slice(0, 8), slice(0, 8), DEFAULT_PALETTE.background)  # 4 screen px per tile px: 2 x 2 tile px
    at.run()
    with demo(projects_env) as project:
        mask = project.load_label(tile_id)[0]
    assert (mask[64:66, 128:130] == 0).all() and mask[63, 128] != 0 and mask[64, 127] != 0
    assert (mask[20:50, 20:50] == 1).all()  # earlier strokes are kept


def test_one_class_labels_are_warned_with_the_fix(projects_env: Path) -> None:
    """Issue 21: building strokes alone make the page warn and say how to fix it; "Rest is background" on the
    finished tile gives the labels their background and the warning goes."""
    fake = FakeCanvas()
    at = open_label_page(fake)
    assert not any("This tile's labels" in w.value for w in at.warning)  # nothing painted yet: no warning
    fake.paint(slice(0, 100), slice(0, 100))  # building only
    at.run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if "100% building" in w.value)
    assert "background strokes" in warning and "Rest is background" in warning
    button(at, "label_complete").click().run()
    assert not any("100% building" in w.value for w in at.warning)
