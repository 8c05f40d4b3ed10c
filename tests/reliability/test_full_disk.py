"""A full disk during a label save, a checkpoint write, a training run and an export.

Two ways: ``OSError(ENOSPC)`` injected at the write layer (``pgssl_core.io.atomic``: at ``write()`` or at
``fsync()``, where delayed allocation reports it), and a real 4 MB tmpfs filled to the last byte (skipped
where the machine does not allow a mount, e.g. an unprivileged CI runner).
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import torch
from shapely.geometry import box

import pgssl_core.io.atomic as atomic
from pgssl_core.assess import write_vector
from pgssl_core.catalog import Project, import_file
from pgssl_core.errors import PgsslError
from pgssl_core.io import StorageError
from pgssl_core.labeling.edit import LabelEditor
from pgssl_core.train.checkpoint import load_checkpoint, save_checkpoint

from .conftest import write_geotiff

pytestmark = pytest.mark.reliability


class DiskFull:
    """Make the atomic write layer fail with ENOSPC (at ``write`` or at ``fsync``) while ``on``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
        self.on = True
        self.failures = 0
        real_open, real_fsync = open, os.fsync
        disk = self

        class _FullFile(io.FileIO):
            def write(self, data):  # type: ignore[override]
                if disk.on:
                    disk.failures += 1
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return super().write(data)

        def fake_open(path, mode="r", *args, **kwargs):
            if where == "write" and "w" in mode and "b" in mode:
                return _FullFile(path, "w")
            return real_open(path, mode, *args, **kwargs)

        def fake_fsync(fd):
            if where == "fsync" and disk.on and not os.path.isdir(f"/proc/self/fd/{fd}"):
                disk.failures += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)

        monkeypatch.setattr(atomic, "open", fake_open, raising=False)
        monkeypatch.setattr(atomic.os, "fsync", fake_fsync)


def _one_line_disk_full(exc: BaseException) -> None:
    message = str(exc)
    assert isinstance(exc, PgsslError) and isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    assert "\n" not in message and message.startswith("disk full: ") and "previous version is kept" in message


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_label_save_on_a_full_disk_keeps_the_previous_version(small_project, monkeypatch, where) -> None:
    root, ids = small_project
    with Project.open(root) as project:
        old = np.zeros((64, 64), np.uint8)
        version = project.save_label(ids[0], old, 0)
        disk = DiskFull(monkeypatch, where)
        with pytest.raises(StorageError) as info:
            project.save_label(ids[0], np.ones((64, 64), np.uint8), version)
        _one_line_disk_full(info.value)
        assert disk.failures >= 1
        mask, stored = project.load_label(ids[0])
        assert stored == version and np.array_equal(mask, old)
        assert [p.name for p in (root / "labels").iterdir()] == [f"{ids[0]}-v1.png"]  # no temp left
        # what the label page calls: the error reaches it as a PgsslError with one line, the editor is unchanged
        editor = LabelEditor.open(project, ids[0])
        with pytest.raises(PgsslError):
            editor.replace(project, np.ones((64, 64), np.uint8))
        assert editor.version == version and np.array_equal(editor.saved, old)
        disk.on = False  # space freed: the same project saves again
        assert project.save_label(ids[0], np.ones((64, 64), np.uint8), version) == version + 1


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_checkpoint_write_on_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch, where) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, stage="teacher", round=1, step=2, total=4, modules={"m": {"w": torch.ones(3)}})
    before = path.read_bytes()
    DiskFull(monkeypatch, where)
    with pytest.raises(StorageError) as info:
        save_checkpoint(path, stage="teacher", round=1, step=4, total=4, modules={"m": {"w": torch.zeros(3)}})
    _one_line_disk_full(info.value)
    assert path.read_bytes() == before and load_checkpoint(path)["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize(("kind", "where"), [("gpkg", "fsync"), ("csv", "write"), ("csv", "fsync")])
def test_export_on_a_full_disk_keeps_the_previous_file(tmp_path, monkeypatch, kind, where) -> None:
    """GeoPackage (GDAL writes it: only the fsync can fail in our layer) and the district CSV export."""
    frame = gpd.GeoDataFrame({"area_m2": [12.0]}, geometry=[box(0, 0, 4, 3)], crs="EPSG:32650")
    if kind == "gpkg":
        out = write_vector(frame, tmp_path / "buildings.gpkg", "buildings")
        again = lambda: write_vector(frame.assign(area_m2=[99.0]), out, "buildings")  # noqa: E731
    else:
        out = tmp_path / "districts.csv"
        atomic.atomic_write_bytes(out, pd.DataFrame(frame.drop(columns="geometry")).to_csv().encode())
        again = lambda: atomic.atomic_write_bytes(out, b"district,kwp\na,2\n")  # noqa: E731
    before = out.read_bytes()
    DiskFull(monkeypatch, where)
    with pytest.raises(StorageError) as info:
        again()
    _one_line_disk_full(info.value)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


# ------------------------------------------------------------------------------------------ a real full disk

@pytest.fixture()
def tiny_disk(tmp_path: Path):
    """A 4 MB tmpfs mounted by the test (root with CAP_SYS_ADMIN only); unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected ENOSPC cases cover the write layer")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> None:
    """Write until the file system says ENOSPC, in ever smaller pieces down to one byte."""
    with open(folder / f"filler-{uuid.uuid4().hex}", "wb", buffering=0) as handle:
        for size in (65536, 4096, 1):
            try:
                while True:
                    handle.write(b"\xff" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC


def test_real_full_tmpfs_label_save_and_exports(tiny_disk: Path, tmp_path: Path) -> None:
    root = tiny_disk / "project"
    with Project.create(root, "tiny") as project:
        [tile_id] = import_file(project, write_geotiff(tmp_path / "t.tif", size=256)).tile_ids
        old = (np.arange(256 * 256).reshape(256, 256) % 2).astype(np.uint8)
        version = project.save_label(tile_id, old, 0)
        frame = gpd.GeoDataFrame({"area_m2": [12.0]}, geometry=[box(0, 0, 4, 3)], crs="EPSG:32650")
        gpkg = write_vector(frame, tiny_disk / "buildings.gpkg", "buildings")
        csv = tiny_disk / "districts.csv"
        atomic.atomic_write_bytes(csv, pd.DataFrame({"district": ["a"], "kwp": [1.0]}).to_csv().encode())
        before = {p: p.read_bytes() for p in (gpkg, csv)}
        _fill(tiny_disk)
        noisy = np.random.default_rng(0).choice(np.array([0, 1, 255], np.uint8), (256, 256))
        with pytest.raises(PgsslError) as info:
            project.save_label(tile_id, noisy, version)
        assert "\n" not in str(info.value) and "disk" in str(info.value)
        mask, stored = project.load_label(tile_id)
        assert stored == version and np.array_equal(mask, old)
        with pytest.raises(PgsslError) as info:
            write_vector(pd.concat([frame] * 200, ignore_index=True), gpkg, "buildings")
        assert "\n" not in str(info.value)
        with pytest.raises(StorageError):
            atomic.atomic_write_bytes(csv, b"x" * 1_000_000)
        assert {p: p.read_bytes() for p in (gpkg, csv)} == before
        assert not [p for p in tiny_disk.rglob(".*") if p.is_file()]  # no temp files left behind
    with Project.open(root) as project:  # the catalog still opens on the full disk
        assert project.load_label(tile_id)[1] == version


# ------------------------------------------------------------------------------------------ the app keeps answering

class _PaintAll:
    """Stands in for the browser-only canvas (``app.canvas.STAND_IN_KEY``): one building stroke everywhere."""

    def __call__(self, background, stroke_color, stroke_width, height, width, key):
        from pgssl_core.labeling import DEFAULT_PALETTE
        rgba = np.zeros((height, width, 4), np.uint8)
        rgba[: height // 2] = (*DEFAULT_PALETTE.building, round(255 * DEFAULT_PALETTE.opacity))
        return rgba


def test_label_page_on_a_full_disk_shows_one_line_and_keeps_answering(projects_env: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from app.canvas import STAND_IN_KEY

    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(projects_env / "train.lock"))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "main.py"), default_timeout=120)
    at.run()
    at.switch_page("../pages/label.py")
    at.run()
    tile_id = at.query_params["tile"]
    with Project.open(projects_env / "beijing-demo") as project:
        before = project.load_label(tile_id)
    disk = DiskFull(monkeypatch, "write")
    at.session_state[STAND_IN_KEY] = _PaintAll()
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Not saved: disk full: ") and "\n" not in errors[0]
    with Project.open(projects_env / "beijing-demo") as project:
        after = project.load_label(tile_id)
    assert after[1] == before[1] and np.array_equal(after[0], before[0])
    disk.on = False  # space freed: the next rerun saves the same strokes
    at.run()
    assert not at.exception and not at.error
    with Project.open(projects_env / "beijing-demo") as project:
        assert project.load_label(tile_id)[1] == before[1] + 1


def test_final_status_write_on_a_full_disk_still_ends_the_job(tmp_path: Path, monkeypatch) -> None:
    """The disk fills while a background job runs: its end (e.g. the training lock's release) still happens."""
    from pgssl_core.background import BackgroundJob

    disk = DiskFull(monkeypatch, "write")
    disk.on = False
    ended: list[dict] = []

    class Job(BackgroundJob):
        def work(self) -> dict:
            disk.on = True  # the disk fills up while the job runs
            return {"answer": 42}

        def after_end(self, final: dict) -> None:
            ended.append(final)

    status = Job(tmp_path / "run").start().join(60)
    assert ended == [{"state": "done", "answer": 42}]  # before the fix the thread died here: lock never released
    assert status["state"] == "done" and status["status_file_error"].startswith("disk full: ")
