"""Fixtures of the Train page room: tiny projects of generated GeoTIFF tiles (real CRS and
transform), a private training lock, and the app's demo projects (built once, copied per test)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from pgssl_core.catalog import Project
from pgssl_core.tiles import Tile, TileMeta

SIZE = 32  # px: the test profile crops 32 px


def make_tile(seed: int, size: int = SIZE) -> tuple[Tile, np.ndarray]:
    """A georeferenced RGB tile (UTM 50N, 0.5 m px, Beijing) with one bright roof, and its 0/1 mask."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 70, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    y, x = rng.integers(0, size // 2, 2)
    image[y:y + size // 3, x:x + size // 3] = 200
    mask[y:y + size // 3, x:x + size // 3] = 1
    meta = TileMeta(width=size, height=size, bands=3, dtype="uint8", driver="GTiff", nodata=None,
                    source_name=f"t{seed}.tif")
    tile = Tile(image=image, valid=np.ones((size, size), bool),
                transform=Affine(0.5, 0, 448_000.0 + 20 * seed, 0, -0.5, 4_420_000.0), crs=CRS.from_epsg(32650),
                meta=meta)
    return tile, mask


@pytest.fixture()
def make_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    """``make_project(n, labelled=k, reference=bool, splits=[...])``: a project of ``n`` tiles whose
    first ``k`` carry a complete label (their true mask)."""
    opened: list[Project] = []

    def make(n: int = 6, labelled: int = 2, reference: bool = False, splits: list | None = None) -> Project:
        project = Project.create(tmp_path / f"project{len(opened)}", "Tiny")
        opened.append(project)
        for i in range(n):
            tile, mask = make_tile(i)
            split = splits[i] if splits else None
            tile_id = project.add_tile(tile, f"t{i}.tif", reference_mask=mask if reference else None, split=split)
            if i < labelled:
                project.save_label(tile_id, mask, 0, complete=True)
        return project

    yield make
    for project in opened:
        project.close()


@pytest.fixture()
def train_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private machine lock, so these tests never wait for (or block) another training run."""
    path = tmp_path / "train.lock"
    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(path))
    monkeypatch.setenv("PGSSL_OFFER_TEST_PROFILE", "1")  # the page offers the seconds-long test profile
    return path


@pytest.fixture()
def projects_env(demo_projects_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 train_lock: Path) -> Path:
    """A private copy of the default projects, used by the app through ``PGSSL_PROJECTS_DIR``."""
    root = tmp_path / "projects"
    shutil.copytree(demo_projects_template, root)
    monkeypatch.setenv("PGSSL_PROJECTS_DIR", str(root))
    return root


@pytest.fixture()
def scratch_init(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs started from the page start from random weights, so these page tests train the tiny test
    profile's own network in seconds (starting from the base model is tested in tests/train/test_init.py)."""
    from dataclasses import fields, replace

    from app import training
    from pgssl_core.train import TrainConfig

    if "init" not in {f.name for f in fields(TrainConfig)}:
        return
    original = training.TrainChoice.train_config
    monkeypatch.setattr(training.TrainChoice, "train_config",
                        lambda self: replace(original(self), init="scratch"))
