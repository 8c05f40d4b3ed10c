"""Fixtures of the project room, shared with the Train and Map page tests (their conftests import them).

- ``make_project``: tiny projects of generated 32 px GeoTIFF tiles whose first tiles carry a complete label;
- ``small_project``: three georeferenced 64 px tiles (UTM 50N, central Beijing) with drawn reference masks
  and one plain image;
- ``tiny_model_file``: a random-weight U-Net model file;
- ``make_config``: the training tests' ``TrainConfig`` factory (the baseline comparison trains).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import from_origin

from pgssl_core.catalog import Project
from pgssl_core.tiles import Tile, TileMeta
from tests.train.conftest import make_config  # noqa: F401 - a fixture shared with the training tests

UTM50 = CRS.from_epsg(32650)
ORIGIN = (448_000.0, 4_420_000.0)  # about 39.93 N 116.40 E: inside Beijing's Dongcheng/Xicheng
SIZE = 64  # px per map tile side, 0.5 m pixels -> 32 m tiles
LABELLED_SIZE = 32  # px per tile of ``make_project``: the test profile crops 32 px
# per tile: the drawn buildings (row0, row1, col0, col1) in px; 20 x 10 px at 0.5 m = 50 m2
BUILDINGS = [[(4, 24, 4, 14)], [(4, 24, 4, 14), (40, 60, 30, 40)], [(10, 30, 20, 30)]]


def make_tile(i: int, georeferenced: bool = True) -> Tile:
    """Map tile ``i``: random RGB, 0.5 m pixels, 200 m east of tile ``i - 1`` (or a plain image without a CRS)."""
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    transform = from_origin(ORIGIN[0] + 200.0 * i, ORIGIN[1], 0.5, 0.5) if georeferenced else None
    meta = TileMeta(SIZE, SIZE, 3, "uint8", "GTiff" if georeferenced else "PNG", None, f"t{i}.tif")
    return Tile(image, np.ones((SIZE, SIZE), bool), transform, UTM50 if georeferenced else None, meta)


def boxes_mask(boxes) -> np.ndarray:  # noqa: ANN001 - (row0, row1, col0, col1) boxes
    """A 0/1 map-tile mask with 1 inside each box."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for r0, r1, c0, c1 in boxes:
        mask[r0:r1, c0:c1] = 1
    return mask


@pytest.fixture
def small_project(tmp_path: Path):
    """Three georeferenced tiles with reference masks and one plain image (no CRS, never mapped)."""
    project = Project.create(tmp_path / "proj", "Map test")
    for i, boxes in enumerate(BUILDINGS):
        project.add_tile(make_tile(i), f"tile{i}.tif", reference_mask=boxes_mask(boxes), group="Dongcheng")
    project.add_tile(make_tile(9, georeferenced=False), "plain.png", reference_mask=boxes_mask([]))
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


def labelled_tile(seed: int, size: int = LABELLED_SIZE) -> tuple[Tile, np.ndarray]:
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
                transform=Affine(0.5, 0, 448_000.0 + 20 * seed, 0, -0.5, 4_420_000.0), crs=UTM50,
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
            tile, mask = labelled_tile(i)
            split = splits[i] if splits else None
            tile_id = project.add_tile(tile, f"t{i}.tif", reference_mask=mask if reference else None, split=split)
            if i < labelled:
                project.save_label(tile_id, mask, 0, complete=True)
        return project

    yield make
    for project in opened:
        project.close()


def stroked_label(mask: np.ndarray) -> np.ndarray:
    """A few strokes over ``mask``: a 3 px line across the roof, continued in background just past the roof's
    right edge (scribbles that show where the roof ends, as the data plan requires), and a background line
    across the tile's foot; the rest unlabelled."""
    out = np.full_like(mask, 255)
    rows, cols = np.nonzero(mask)
    out[rows[0]:rows[0] + 3, cols.min():cols.max()] = 1
    out[rows[0]:rows[0] + 3, cols.max() + 2:cols.max() + 6] = 0
    out[-4:-1, :] = 0
    return out
