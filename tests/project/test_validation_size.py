"""Honest validation figures (issue 16, item 5): how much validation a run has, when it is too little, and
fully labelled tiles preferred for the hold-out (the Train page's warning: tests/app/train)."""

from __future__ import annotations

import numpy as np

from pgssl_core.project.data_plan import plan_project_data
from pgssl_core.project.validation_size import MIN_VAL_BUILDINGS, mask_size, validation_size
from tests.project.conftest import labelled_tile, stroked_label


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
        _tile, mask = labelled_tile(i)
        if i == 3:
            project.save_label(record.id, mask, 0, complete=True)
        else:
            project.save_label(record.id, stroked_label(mask), 0)
    for seed in range(10):
        plan = plan_project_data(project, seed=seed)
        assert plan.val_source == "holdout" and plan.val == (records[3].id,), seed
    size = validation_size(project, plan)
    assert size.tiles == 1 and size.complete_tiles == 1 and size.too_little()
