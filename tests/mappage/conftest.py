"""Fixtures for the Map page: a small project of generated georeferenced tiles (UTM 50N, central Beijing)
with drawn reference masks, and a tiny random U-Net model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin

from pgssl_core.catalog import Project
from pgssl_core.tiles import Tile, TileMeta

UTM50 = CRS.from_epsg(32650)
ORIGIN = (448_000.0, 4_420_000.0)  # about 39.93 N 116.40 E: inside Beijing's Dongcheng/Xicheng
SIZE = 64  # px per tile side, 0.5 m pixels -> 32 m tiles
# per tile: the drawn buildings (row0, row1, col0, col1) in px; 20 x 10 px at 0.5 m = 50 m2
BUILDINGS = [[(4, 24, 4, 14)], [(4, 24, 4, 14), (40, 60, 30, 40)], [(10, 30, 20, 30)]]


def make_tile(i: int, georeferenced: bool = True) -> Tile:
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    transform = from_origin(ORIGIN[0] + 200.0 * i, ORIGIN[1], 0.5, 0.5) if georeferenced else None
    meta = TileMeta(SIZE, SIZE, 3, "uint8", "GTiff" if georeferenced else "PNG", None, f"t{i}.tif")
    return Tile(image, np.ones((SIZE, SIZE), bool), transform, UTM50 if georeferenced else None, meta)


def _mask(boxes) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for r0, r1, c0, c1 in boxes:
        mask[r0:r1, c0:c1] = 1
    return mask


@pytest.fixture
def small_project(tmp_path: Path):
    """Three georeferenced tiles with reference masks and one plain image (no CRS, never mapped)."""
    project = Project.create(tmp_path / "proj", "Map test")
    for i, boxes in enumerate(BUILDINGS):
        project.add_tile(make_tile(i), f"tile{i}.tif", reference_mask=_mask(boxes), group="Dongcheng")
    project.add_tile(make_tile(9, georeferenced=False), "plain.png", reference_mask=_mask([]))
    yield project
    project.close()


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight U-Net (resnet18 cut at depth 3) saved as a model file."""
    import torch

    from pgssl_core.models import ModelConfig, create_model, save_model

    torch.manual_seed(0)
    config = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_model(path, create_model(config), config, {"note": "random weights for tests"})
    return path
