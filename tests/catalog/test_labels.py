"""Label saves: validation, versions, stale-version refusal, "complete" and training masks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pgssl_core.catalog import Project, import_file
from pgssl_core.errors import CatalogError, StaleVersionError

H, W = 48, 64


def _painted(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 255], dtype=np.uint8), size=(H, W))


def test_unlabelled_tile_loads_all_255(tiled_project):
    project, tile_id = tiled_project
    mask, version = project.load_label(tile_id)
    assert version == 0 and mask.shape == (H, W) and mask.dtype == np.uint8 and (mask == 255).all()
    assert project.labelled_tile_ids() == []


def test_save_roundtrip_and_version_bumps(tiled_project):
    project, tile_id = tiled_project
    first = _painted(1)
    assert project.save_label(tile_id, first, base_version=0) == 1
    mask, version = project.load_label(tile_id)
    assert version == 1 and np.array_equal(mask, first)
    second = _painted(2)
    assert project.save_label(tile_id, second, base_version=1) == 2
    mask, version = project.load_label(tile_id)
    assert version == 2 and np.array_equal(mask, second)
    rec = project.tile(tile_id)
    assert rec.label_version == 2
    assert rec.labelled_fraction == pytest.approx(np.mean(second != 255))
    assert rec.building_fraction == pytest.approx(np.mean(second == 1))
    # only the current version's file is kept
    assert [p.name for p in (project.root / "labels").iterdir()] == [f"{tile_id}-v2.png"]


def test_stale_save_is_refused_and_keeps_the_other_save(tiled_project):
    project, tile_id = tiled_project
    other = Project.open(project.root)  # a second tab
    try:
        _, base_a = project.load_label(tile_id)
        _, base_b = other.load_label(tile_id)
        saved = np.zeros((H, W), np.uint8)
        other.save_label(tile_id, saved, base_b)
        with pytest.raises(StaleVersionError, match="reload"):
            project.save_label(tile_id, np.ones((H, W), np.uint8), base_a)
        mask, version = project.load_label(tile_id)
        assert version == 1 and np.array_equal(mask, saved)
    finally:
        other.close()
    assert len(list((project.root / "labels").iterdir())) == 1, "refused save left a file"


def test_concurrent_saves_from_the_same_version_exactly_one_wins(tiled_project):
    project, tile_id = tiled_project
    handles = [Project.open(project.root) for _ in range(4)]
    outcomes: list[object] = []
    barrier = threading.Barrier(len(handles))

    def save(handle: Project, value: int) -> None:
        barrier.wait()
        try:
            outcomes.append(handle.save_label(tile_id, np.full((H, W), value, np.uint8), 0))
        except StaleVersionError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save, args=(h, i % 2)) for i, h in enumerate(handles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for h in handles:
        h.close()
    assert sorted(o for o in outcomes if isinstance(o, int)) == [1]
    assert sum(isinstance(o, StaleVersionError) for o in outcomes) == 3
    assert project.load_label(tile_id)[1] == 1


@pytest.mark.parametrize("bad, match", [
    (np.full((H, W), 2, np.uint8), "values"),
    (np.zeros((W, H), np.uint8), "shape"),
    (np.zeros((H, W, 1), np.uint8), "shape"),
    (np.zeros((H, W), np.float32), "dtype"),
    (np.zeros((H, W), bool), "dtype"),
])
def test_invalid_masks_are_refused(tiled_project, bad, match):
    project, tile_id = tiled_project
    with pytest.raises(CatalogError, match=match):
        project.save_label(tile_id, bad, 0)
    assert project.load_label(tile_id)[1] == 0


def test_complete_flag_and_training_mask(tiled_project):
    project, tile_id = tiled_project
    mask = np.full((H, W), 255, np.uint8)
    mask[:10] = 1
    v = project.save_label(tile_id, mask, 0)
    assert not project.tile(tile_id).label_complete
    assert np.array_equal(project.training_mask(tile_id), mask)  # partial: 255 stays ignored
    v = project.save_label(tile_id, mask, v, complete=True)
    assert project.tile(tile_id).label_complete and project.label_state(tile_id).status == "complete"
    training = project.training_mask(tile_id)
    assert set(np.unique(training)) == {0, 1} and (training[:10] == 1).all()
    # the stored label itself is unchanged (the user keeps seeing what they painted)
    assert np.array_equal(project.load_label(tile_id)[0], mask)
    v = project.save_label(tile_id, mask, v)  # complete=None keeps the flag
    assert project.tile(tile_id).label_complete
    project.save_label(tile_id, mask, v, complete=False)
    assert not project.tile(tile_id).label_complete


def test_training_mask_ignores_nodata_pixels(project, make_geotiff):
    tile_id = import_file(project, make_geotiff("nd.tif", nodata_corner=8)).tile_ids[0]
    assert project.tile(tile_id).nodata_fraction == pytest.approx(64 / (H * W))
    project.save_label(tile_id, np.zeros((H, W), np.uint8), 0, complete=True)
    training = project.training_mask(tile_id)
    assert (training[:8, :8] == 255).all() and (training[8:] == 0).all()


def test_labelled_tile_ids_skips_empty_labels(project, make_geotiff):
    ids = [import_file(project, make_geotiff(f"t{i}.tif", seed=i)).tile_ids[0] for i in range(3)]
    project.save_label(ids[0], np.full((H, W), 255, np.uint8), 0)  # saved but nothing painted
    project.save_label(ids[1], np.full((H, W), 255, np.uint8), 0, complete=True)  # all background
    partial = np.full((H, W), 255, np.uint8)
    partial[0, 0] = 1
    project.save_label(ids[2], partial, 0)
    assert project.labelled_tile_ids() == [ids[1], ids[2]]
    assert project.label_state(ids[0]).status == "unlabelled"
    assert project.label_state(ids[2]).status == "partial"


def test_save_against_deleted_tile(tiled_project):
    project, tile_id = tiled_project
    project.delete_tile(tile_id)
    with pytest.raises(CatalogError):
        project.save_label(tile_id, np.zeros((H, W), np.uint8), 0)
