"""Project lifecycle, tiles, thumbnails, runs and settings."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from PIL import Image

from pgssl_core.catalog import Project, RunKind, RunRecord, import_file
from pgssl_core.errors import CatalogError


def test_create_open_roundtrip(tmp_path):
    root = tmp_path / "p"
    Project.create(root, "Roofs", "desc").close()
    with Project.open(root) as proj:
        assert (proj.name, proj.description, proj.root) == ("Roofs", "desc", root)
    with sqlite3.connect(root / "project.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not list(root.glob(".project.sqlite*")), "temporary database left behind"


def test_create_refuses_existing_project(tmp_path):
    Project.create(tmp_path / "p", "A").close()
    with pytest.raises(CatalogError, match="already exists"):
        Project.create(tmp_path / "p", "B")


def test_create_in_existing_empty_folder(tmp_path):
    (tmp_path / "p").mkdir()
    with Project.create(tmp_path / "p", "A") as proj:
        assert proj.tiles() == []


def test_open_non_project_is_refused_and_creates_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="not a pgssl project"):
        Project.open(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "project.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError):
        Project.open(tmp_path / "junk")


def test_open_or_create(tmp_path):
    with Project.open_or_create(tmp_path / "p", "First") as proj:
        assert proj.name == "First"
    with Project.open_or_create(tmp_path / "p", "Second") as proj:
        assert proj.name == "First"  # opened, not re-created


def test_closed_project_refuses_use(project):
    project.close()
    project.close()  # idempotent
    with pytest.raises(CatalogError, match="closed"):
        project.tiles()


def test_tile_record_and_read_back(tiled_project):
    project, tile_id = tiled_project
    rec = project.tile(tile_id)
    assert rec.original_name == "one.tif"
    assert (rec.width, rec.height) == (64, 48)
    assert rec.crs == "EPSG:32650" and rec.georeferenced
    assert rec.bounds == pytest.approx((440_000.0, 4_420_000.0 - 24.0, 440_000.0 + 32.0, 4_420_000.0))
    assert rec.label_version == 0 and not rec.label_complete and not rec.has_reference
    # stored under the generated id, never under the uploaded name
    assert project.tile_path(tile_id) == project.root / "tiles" / f"{tile_id}.tif"
    assert not list(project.root.rglob("one.tif"))
    tile = project.read(tile_id)
    assert tile.image.shape == (48, 64, 3) and tile.valid.all()


def test_add_tile_with_reference_group_split(project, make_geotiff):
    from pgssl_core.tiles import read_tile

    tile = read_tile(make_geotiff("r.tif"))
    ref = np.zeros((48, 64), dtype=bool)
    ref[5:20, 10:30] = True
    tile_id = project.add_tile(tile, "r.tif", reference_mask=ref, group="haidian", split="val")
    rec = project.tile(tile_id)
    assert rec.has_reference and rec.group == "haidian" and rec.split == "val"
    stored = project.reference_mask(tile_id)
    assert stored.dtype == np.uint8 and np.array_equal(stored, ref.astype(np.uint8))
    assert project.load_label(tile_id)[1] == 0, "a reference mask is never a user label"
    with pytest.raises(CatalogError, match="split"):
        project.add_tile(tile, "r.tif", split="training")
    with pytest.raises(CatalogError, match="shape"):
        project.add_tile(tile, "r.tif", reference_mask=np.zeros((10, 10), dtype=bool))
    assert len(project.tiles()) == 1, "refused adds left a row behind"
    assert len(list((project.root / "tiles").iterdir())) == 1


def test_tiles_in_creation_order_and_unknown_ids(project, make_geotiff):
    ids = [import_file(project, make_geotiff(f"t{i}.tif", seed=i)).tile_ids[0] for i in range(3)]
    assert [r.id for r in project.tiles()] == ids
    with pytest.raises(CatalogError, match="not in project"):
        project.tile("0" * 32)
    with pytest.raises(CatalogError, match="invalid tile id"):
        project.tile("../../etc/passwd")


def test_delete_tile_removes_rows_and_files(tiled_project):
    project, tile_id = tiled_project
    project.save_label(tile_id, np.zeros((48, 64), np.uint8), 0)
    project.thumbnail(tile_id)
    project.delete_tile(tile_id)
    assert project.tiles() == []
    for folder in ("tiles", "labels", "reference", "thumbs"):
        assert list((project.root / folder).iterdir()) == [], folder
    with pytest.raises(CatalogError):
        project.load_label(tile_id)


def test_thumbnail_cached_and_regenerated(tiled_project):
    project, tile_id = tiled_project
    path = project.thumbnail(tile_id, size=32)
    with Image.open(path) as im:
        assert im.size == (32, 24)  # aspect kept: 64 x 48 -> 32 x 24
    mtime = path.stat().st_mtime_ns
    assert project.thumbnail(tile_id, size=32).stat().st_mtime_ns == mtime  # cached
    path.unlink()
    assert project.thumbnail(tile_id, size=32).is_file()


def test_runs(project):
    run_id, folder = project.create_run("train", {"lr": 0.01, "epochs": 2})
    assert folder == project.root / "runs" / run_id and folder.is_dir()
    assert list(folder.iterdir()) == []  # the folder is the job's: the catalog writes no file into it
    project.update_run(run_id, "running")
    project.update_run(run_id, "done", {"iou": 0.5})
    project.update_run(run_id, "done")  # metrics kept when not given
    (run,) = project.runs()
    assert isinstance(run, RunRecord) and run == project.run(run_id)
    assert run.id == run_id and run.kind is RunKind.TRAIN and run.status == "done" and run.path == folder
    assert run.config == {"lr": 0.01, "epochs": 2} and run.metrics == {"iou": 0.5}
    # rows still read as the dicts they were before they were typed
    assert run["kind"] == "train" and run["path"] == folder and {**run}["config"] == run.config
    with pytest.raises(CatalogError):
        project.update_run("nope", "done")
    with pytest.raises(CatalogError, match="JSON"):
        project.create_run("train", {"bad": object()})
    with pytest.raises(CatalogError, match="unknown run kind 'evaluate'"):
        project.create_run("evaluate", {})
    assert len(project.runs()) == 1
    assert [p.name for p in (project.root / "runs").iterdir()] == [run_id]  # refused kinds leave no folder


def test_settings(project):
    assert project.get_setting("active_model", "none") == "none"
    project.set_setting("active_model", {"run": "abc", "path": "runs/abc/model.pt"})
    project.set_setting("active_model", {"run": "def"})
    assert project.get_setting("active_model") == {"run": "def"}


def test_project_folder_can_be_moved(tiled_project, tmp_path):
    project, tile_id = tiled_project
    project.save_label(tile_id, np.ones((48, 64), np.uint8), 0)
    project.close()
    moved = tmp_path / "moved"
    shutil.move(project.root, moved)
    with Project.open(moved) as proj:
        mask, version = proj.load_label(tile_id)
        assert version == 1 and (mask == 1).all()
        assert proj.read(tile_id).image.shape == (48, 64, 3)


def test_shared_handle_from_a_background_thread(tiled_project):
    import threading

    project, tile_id = tiled_project
    errors = []

    def work():
        try:
            project.save_label(tile_id, np.zeros((48, 64), np.uint8), 0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == [] and project.load_label(tile_id)[1] == 1
