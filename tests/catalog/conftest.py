"""Fixtures for the catalog tests: tiny generated GeoTIFFs with a real CRS and transform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from pgssl_core.catalog import Project, import_file

UTM50N = "EPSG:32650"  # Beijing
ORIGIN = (440_000.0, 4_420_000.0)  # UTM 50N metres, inside Beijing
PIXEL_M = 0.5


def write_geotiff(path: Path, width: int = 64, height: int = 48, seed: int = 0, nodata_corner: int = 0) -> Path:
    """A 3-band uint8 GeoTIFF in UTM 50N at 0.5 m/px with seeded noise.

    ``nodata_corner``: side (px) of a top-left square written as nodata (value 0 in every band).
    """
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 255, size=(3, height, width), dtype=np.uint8)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 3, "dtype": "uint8",
               "crs": UTM50N, "transform": from_origin(*ORIGIN, PIXEL_M, PIXEL_M)}
    if nodata_corner:
        data[:, :nodata_corner, :nodata_corner] = 0
        profile["nodata"] = 0
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture
def make_geotiff(tmp_path: Path) -> Callable[..., Path]:
    """``make_geotiff(name, **kw)`` -> path of a new GeoTIFF under ``tmp_path/inputs``."""
    folder = tmp_path / "inputs"
    folder.mkdir(exist_ok=True)

    def make(name: str = "tile.tif", **kwargs) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_geotiff(path, **kwargs)

    return make


@pytest.fixture
def project(tmp_path: Path):
    """A fresh empty project in ``tmp_path/project`` (closed after the test)."""
    with Project.create(tmp_path / "project", "Test project", "for tests") as proj:
        yield proj


@pytest.fixture
def tiled_project(project: Project, make_geotiff) -> tuple[Project, str]:
    """A project holding one 64 x 48 px tile; returns (project, tile id)."""
    result = import_file(project, make_geotiff("one.tif"))
    assert result.status == "added", result.message
    return project, result.tile_ids[0]
