"""Crash safety: a process killed with SIGKILL mid-write leaves a consistent, openable project.

A child process is stopped at a chosen point of a write (by patching one internal step to
announce itself and sleep), then killed with SIGKILL; the parent reopens the project.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pgssl_core.catalog import Project, import_file

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, sys, time
from pathlib import Path
import numpy as np
root, tile_id, mode, ready, new_tile = sys.argv[1:6]

def stall(*args, **kwargs):
    Path(ready).write_text("stalled")
    time.sleep(120)

import pgssl_core.catalog.project as P
from pgssl_core.catalog.importer import import_file
if mode == "temp_written":          # label PNG fully in its temp file, not yet renamed
    os.replace = stall  # this child is killed at the stall, nothing else needs os.replace
elif mode == "renamed_not_committed":  # new label file in place, database not yet switched
    P.upsert_label_row = stall
elif mode == "tile_written_no_row":    # imported GeoTIFF written, row not yet inserted
    real = P.write_tile_geotiff
    def write_then_stall(path, tile):
        real(path, tile)
        stall()
    P.write_tile_geotiff = write_then_stall

project = P.Project.open(root)
if mode == "tile_written_no_row":
    import_file(project, Path(new_tile))
else:
    mask, version = project.load_label(tile_id)
    project.save_label(tile_id, np.ones_like(mask), version)
"""


def _kill_child_at(mode: str, root: Path, tile_id: str, new_tile: Path, tmp_path: Path) -> None:
    ready = tmp_path / f"ready-{mode}"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), tile_id, mode, str(ready), str(new_tile)],
                             env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if child.poll() is not None:
                pytest.fail(f"child exited early: {child.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("child never reached the stall point")
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", ["temp_written", "renamed_not_committed", "tile_written_no_row"])
def test_sigkill_mid_write_keeps_old_label_and_db_openable(tiled_project, make_geotiff, tmp_path, mode):
    project, tile_id = tiled_project
    old = np.zeros((48, 64), np.uint8)
    old[:, :32] = 1
    project.save_label(tile_id, old, 0)
    new_tile = make_geotiff("new.tif", seed=7)
    project.close()

    _kill_child_at(mode, project.root, tile_id, new_tile, tmp_path)

    # the kill point must have left a trace, or the test would prove nothing
    labels = sorted(p.name for p in (project.root / "labels").iterdir())
    tiles = sorted(p.name for p in (project.root / "tiles").iterdir())
    if mode == "temp_written":
        assert any(name.startswith(".") for name in labels), labels
    elif mode == "renamed_not_committed":
        assert f"{tile_id}-v2.png" in labels, labels
    else:
        assert len(tiles) == 2, tiles
    with Project.open(project.root) as reopened:
        mask, version = reopened.load_label(tile_id)
        assert version == 1 and np.array_equal(mask, old)
        assert [r.id for r in reopened.tiles()] == [tile_id]
        # recovery removed the dead writer's files, and only those
        assert sorted(p.name for p in (reopened.root / "labels").iterdir()) == [f"{tile_id}-v1.png"]
        assert sorted(p.name for p in (reopened.root / "tiles").iterdir()) == [f"{tile_id}.tif"]
        # and the project is fully usable again
        assert reopened.save_label(tile_id, np.ones_like(old), version) == 2
        assert import_file(reopened, new_tile).status == "added"


def test_reopen_of_clean_project_removes_nothing(tiled_project):
    project, tile_id = tiled_project
    project.save_label(tile_id, np.zeros((48, 64), np.uint8), 0)
    project.thumbnail(tile_id)
    stranger = project.root / "tiles" / "notes.txt"  # not a name the catalog makes: left alone
    stranger.write_text("mine")
    before = sorted(p.relative_to(project.root) for p in project.root.rglob("*") if p.is_file())
    Project.open(project.root).close()
    after = sorted(p.relative_to(project.root) for p in project.root.rglob("*") if p.is_file())
    assert [p for p in before if p.suffix != ".sqlite-shm" and "-wal" not in p.name] == \
           [p for p in after if p.suffix != ".sqlite-shm" and "-wal" not in p.name]
    assert stranger.exists()
