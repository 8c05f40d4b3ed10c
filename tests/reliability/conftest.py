"""Helpers of the reliability suite: tiny real tiles, child processes, file-system snapshots.

Every case here uses real components (SQLite, GDAL, real processes killed with SIGKILL); faults are
injected only where the fault itself cannot be made cheaply (a full disk: ``OSError(ENOSPC)`` at the
write layer, or a small tmpfs where the machine allows a mount).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from pgssl_core.catalog import Project, import_file
from pgssl_core.shipped import ASSETS_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PNGS = sorted((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a child Python: this checkout importable, one thread (the CI has 2 cores)."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}


def run_child(code: str, *args: str, timeout: float = 120, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """Run ``python -c code args...`` to completion; returns the finished process (text output)."""
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, timeout=timeout)


def cli(*args: str, timeout: float = 180, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """``python -m pgssl_core args...`` in a child process."""
    return subprocess.run([sys.executable, "-m", "pgssl_core", *args], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, timeout=timeout)


def write_geotiff(path: Path, size: int = 64, seed: int = 0, dtype: str = "uint8",
                  nan_block: bool = False) -> Path:
    """A 3-band GeoTIFF in UTM 33N at 0.3 m; ``nan_block``: float32 with a NaN square (no-data pixels)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (3, size, size)).astype(dtype)
    if nan_block:
        img[:, : size // 4, : size // 4] = np.nan
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype=dtype, crs="EPSG:32633",
                   transform=from_origin(500000, 4500000, 0.3, 0.3))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(img)
    return path


@pytest.fixture()
def small_project(tmp_path: Path) -> tuple[Path, list[str]]:
    """A closed project folder with three 64 px tiles; returns (root, tile ids)."""
    root = tmp_path / "project"
    ids = []
    with Project.create(root, "reliability") as project:
        for i in range(3):
            result = import_file(project, write_geotiff(tmp_path / f"t{i}.tif", seed=i))
            ids += result.tile_ids
    return root, ids


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (relative path -> (size, mtime ns)); for before/after comparisons."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() or path.is_symlink():
            st = path.lstat()
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def last_json_line(text: str) -> dict:
    """The last line of ``text`` that parses as a JSON object (a child's report)."""
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise AssertionError(f"no JSON report in the child's output: {text[-2000:]}")
