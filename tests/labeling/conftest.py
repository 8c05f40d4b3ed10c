"""Fixtures of the Label room: demo projects (built once, copied per test), tiny projects and a tiny model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from pgssl_core.catalog import Project
from pgssl_core.tiles import Tile, TileMeta


def make_tile(height: int = 64, width: int = 48, seed: int = 0) -> Tile:
    """A small georeferenced RGB tile (UTM 50N, 0.5 m pixels, Beijing) with random pixels."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    meta = TileMeta(width=width, height=height, bands=3, dtype="uint8", driver="GTiff", nodata=None,
                    source_name=f"tile{seed}.tif")
    return Tile(image=image, valid=np.ones((height, width), dtype=bool),
                transform=Affine(0.5, 0, 448_000.0, 0, -0.5, 4_420_000.0), crs=CRS.from_epsg(32650), meta=meta)


@pytest.fixture()
def small_project(tmp_path: Path) -> Iterator[Project]:
    """A project with three 64 x 48 px tiles."""
    with Project.create(tmp_path / "small", "Small") as project:
        for seed in range(3):
            project.add_tile(make_tile(seed=seed), f"tile{seed}.tif")
        yield project
