"""Honest validation figures (issue 16, item 5): how much validation a run has, a warning when it is too
little, and fully labelled tiles preferred for the hold-out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from pgssl_core.project.data_plan import plan_project_data
from pgssl_core.project.validation_size import MIN_VAL_BUILDINGS, mask_size, validation_size
from tests.trainpage.conftest import make_tile

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _strokes(mask: np.ndarray) -> np.ndarray:
    """A few strokes: a 3 px line across the roof and one of background, the rest unlabelled."""
    out = np.full_like(mask, 255)
    rows, cols = np.nonzero(mask)
    out[rows[0]:rows[0] + 3, cols.min():cols.max()] = 1
    out[-4:-1, :] = 0
    return out


def test_mask_size_counts_pixels_buildings_and_complete_tiles() -> None:
    full = np.zeros((64, 64), np.uint8)
    full[4:14, 4:14] = 1
    full[30:40, 30:50] = 1
    full[60, 60] = 1  # a stray dab: not a building
    partial = np.full((64, 64), 255, np.uint8)
    partial[0:8, 0:8] = 0
    size = mask_size([full, partial])
    assert (size.tiles, size.complete_tiles) == (2, 1)
    assert size.labelled_px == 64 * 64 + 64 and size.building_px == 100 + 200 + 1 and size.buildings == 2
    reason = size.too_little()
    assert reason and "2 tiles" in reason and "2 buildings" in reason
    many = mask_size([full] * (MIN_VAL_BUILDINGS // 2 + 1) * 20)
    assert many.too_little() is None


def test_holdout_prefers_fully_labelled_tiles(make_project) -> None:
    project = make_project(n=5, labelled=0)
    records = project.tiles()
    for i, record in enumerate(records):
        _tile, mask = make_tile(i)
        if i == 3:
            project.save_label(record.id, mask, 0, complete=True)
        else:
            project.save_label(record.id, _strokes(mask), 0)
    for seed in range(10):
        plan = plan_project_data(project, seed=seed)
        assert plan.val_source == "holdout" and plan.val == (records[3].id,), seed
    size = validation_size(project, plan)
    assert size.tiles == 1 and size.complete_tiles == 1 and size.too_little()


def test_train_page_warns_when_validation_is_too_small(projects_env: Path) -> None:
    with Project.create(projects_env / "mine", "Mine") as project:
        for i in range(3):
            tile, mask = make_tile(i, size=64)
            tile_id = project.add_tile(tile, f"t{i}.tif")
            project.save_label(tile_id, _strokes(mask), 0)
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = "mine"
    at.run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if "Too little validation" in w.value)
    assert "1 tile (0 fully labelled)" in warning and "labelled pixels" in warning
