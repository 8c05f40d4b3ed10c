"""The training data plan refuses labels from which no model can learn where buildings end (issue 21):
real masks saved in a real project catalog, then planned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.labeling.balance import EDGE_PX
from pgssl_core.project.data_plan import plan_project_data
from tests.project.conftest import SIZE, make_tile

UNLABELLED, BACKGROUND, BUILDING = 255, 0, 1


def _project(tmp_path: Path, masks: list[np.ndarray], complete: bool = False) -> Project:
    project = Project.create(tmp_path / "p", "Edges")
    for i, mask in enumerate(masks):
        project.add_tile(make_tile(i), f"t{i}.tif")
        tile_id = project.tiles()[-1].id
        project.save_label(tile_id, mask, 0, complete=complete)
    return project


def _strokes(building: tuple[slice, slice] | None, background: tuple[slice, slice] | None) -> np.ndarray:
    mask = np.full((SIZE, SIZE), UNLABELLED, np.uint8)
    if building is not None:
        mask[building] = BUILDING
    if background is not None:
        mask[background] = BACKGROUND
    return mask


def test_all_building_labels_are_refused_with_the_reason(tmp_path: Path) -> None:
    masks = [_strokes((slice(0, 40), slice(0, 40)), None) for _ in range(2)]
    with _project(tmp_path, masks) as project, pytest.raises(PgsslError) as err:
        plan_project_data(project)
    message = str(err.value)
    assert "no background pixel" in message and "Rest is background" in message and "\n" not in message


def test_background_painted_far_from_every_building_is_refused(tmp_path: Path) -> None:
    # building in the top-left corner, background strokes in the bottom-right: 40+ px apart
    far = _strokes((slice(0, 10), slice(0, 10)), (slice(54, 64), slice(54, 64)))
    with _project(tmp_path, [far, far]) as project, pytest.raises(PgsslError) as err:
        plan_project_data(project)
    assert f"within {EDGE_PX} px of a building" in str(err.value)


def test_background_along_a_building_edge_is_accepted(tmp_path: Path) -> None:
    near = _strokes((slice(0, 20), slice(0, 20)), (slice(0, 20), slice(20 + EDGE_PX - 1, 64)))  # gap < EDGE_PX
    far = _strokes((slice(0, 10), slice(0, 10)), (slice(54, 64), slice(54, 64)))
    with _project(tmp_path, [far, near]) as project:
        plan = plan_project_data(project)
    assert len(plan.train) + len(plan.val) == 2


def test_a_complete_tile_shows_every_edge(tmp_path: Path) -> None:
    # only building painted, but "Rest is background": every unpainted pixel is background next to the roof
    masks = [_strokes((slice(0, 40), slice(0, 40)), None) for _ in range(2)]
    with _project(tmp_path, masks, complete=True) as project:
        assert plan_project_data(project).train
