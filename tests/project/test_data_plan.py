"""Training data from a project: who trains, who pools, who validates, and the too-few-labels error."""

from __future__ import annotations

import numpy as np
import pytest

from pgssl_core.catalog.gsd_settings import GsdSettings, project_tile_gsd, set_project_gsd
from pgssl_core.errors import PgsslError
from pgssl_core.project.data_plan import plan_project_data, training_data_from_project


def test_too_few_labels_is_a_clear_error(make_project) -> None:
    project = make_project(n=4, labelled=1)
    with pytest.raises(PgsslError, match="label at least 2 tiles first"):
        plan_project_data(project)


def test_reference_masks_validate_on_unlabelled_tiles(make_project) -> None:
    project = make_project(n=6, labelled=2, reference=True)
    ids = [r.id for r in project.tiles()]
    plan = plan_project_data(project)
    assert plan.val_source == "reference" and "reference" in plan.note
    assert plan.train == tuple(ids[:2])  # every label trains
    assert set(plan.val) == set(ids[2:]) and set(plan.pool) == set(ids[2:])
    set_project_gsd(project, GsdSettings(working_gsd_m=None))  # native: masks compare pixel for pixel
    data = training_data_from_project(project)
    assert len(data.labelled) == 2 and len(data.unlabelled) == 4 and len(data.val) == 4
    assert all(s["mask"] is None for s in data.unlabelled)
    # validation masks are the stored ground truth, not an empty user label
    for sample in data.val:
        assert np.array_equal(sample["mask"], project.reference_mask(sample["name"]))
    assert data.labelled[0]["image"].shape == (32, 32, 3) and data.gsd_m is None


def test_project_tiles_are_read_at_the_working_gsd(make_project) -> None:
    project = make_project(n=6, labelled=2, reference=True)
    record = project.tiles()[0]
    tile = project.read(record.id)
    source = project_tile_gsd(project, record.id)
    assert source is not None
    set_project_gsd(project, GsdSettings(working_gsd_m=source * 2))
    data = training_data_from_project(project)
    assert data.gsd_m == pytest.approx(source * 2)
    assert data.labelled[0]["image"].shape == (round(tile.height / 2), round(tile.width / 2), 3)
    assert data.val[0]["mask"].shape == data.val[0]["image"].shape[:2]


def test_caps_are_seeded_subsets(make_project) -> None:
    project = make_project(n=10, labelled=2, reference=True)
    a = plan_project_data(project, max_val=3, max_pool=4, seed=1)
    b = plan_project_data(project, max_val=3, max_pool=4, seed=1)
    assert a == b and len(a.val) == 3 and len(a.pool) == 4
    assert not set(a.train) & set(a.pool)


def test_holdout_without_reference(make_project) -> None:
    project = make_project(n=8, labelled=5)
    plan = plan_project_data(project, val_fraction=0.4, seed=3)
    assert plan.val_source == "holdout"
    assert len(plan.val) == 2 and len(plan.train) == 3
    assert not set(plan.val) & set(plan.train)
    assert set(plan.val) <= set(plan.pool)  # held-out tiles still pretrain, without their mask
    data = training_data_from_project(project, val_fraction=0.4, seed=3)
    assert len(data.val) == 2 and all(s["mask"] is not None for s in data.val)
    assert all(set(np.unique(s["mask"])) <= {0, 1} for s in data.labelled)  # complete: no 255 left


def test_two_labels_keep_one_for_training(make_project) -> None:
    plan = plan_project_data(make_project(n=3, labelled=2), val_fraction=0.9)
    assert len(plan.train) == 1 and len(plan.val) == 1


def test_val_split_is_held_out(make_project) -> None:
    project = make_project(n=5, labelled=3, splits=["train", "val", "train", "val", "test"])
    ids = [r.id for r in project.tiles()]
    plan = plan_project_data(project)
    assert plan.val_source == "val_split"
    assert plan.val == (ids[1],) and plan.train == (ids[0], ids[2])
