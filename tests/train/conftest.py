"""Fixtures of the training tests: tiny synthetic tiles (bright squares = buildings), in memory and as
GeoTIFF/PNG folders with a real CRS and transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from pgssl_core.train import TrainConfig, TrainingData, make_sample


def synth_tile(rng: np.random.Generator, size: int = 48, bands: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Dark noisy ground with one or two bright rectangles (the buildings) and their 0/1 mask."""
    img = rng.integers(0, 70, (size, size, bands), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        h, w = rng.integers(6, size // 3, 2)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        img[y:y + h, x:x + w] = rng.integers(170, 230, bands, dtype=np.uint8)
        mask[y:y + h, x:x + w] = 1
    return img, mask


def synth_data(n_lab: int = 4, n_unl: int = 6, n_val: int = 2, size: int = 48, seed: int = 0,
               bands: int = 3) -> TrainingData:
    rng = np.random.default_rng(seed)
    lab = [make_sample(*synth_tile(rng, size, bands)) for _ in range(n_lab)]
    unl = [make_sample(synth_tile(rng, size, bands)[0]) for _ in range(n_unl)]
    val = [make_sample(*synth_tile(rng, size, bands)) for _ in range(n_val)]
    return TrainingData(lab, unl, val)


def _config(method: str = "pgssl", **overrides) -> TrainConfig:
    """The ``test`` profile, 1 round unless asked otherwise, on the CPU."""
    rounds = overrides.pop("rounds", 1)
    return TrainConfig(method=method, profile="test", device="cpu", rounds=rounds, profile_overrides=overrides)


@pytest.fixture
def tiny_data() -> TrainingData:
    return synth_data()


@pytest.fixture
def make_data():
    """Factory: ``make_data(n_lab, n_unl, n_val, size, seed, bands)`` -> TrainingData."""
    return synth_data


@pytest.fixture
def make_config():
    """Factory: ``make_config(method, **profile_overrides)`` -> TrainConfig on the ``test`` profile."""
    return _config


@pytest.fixture
def tile_folders(tmp_path: Path) -> tuple[Path, Path]:
    """``images/`` as 3-band GeoTIFFs (UTM 33N, 0.3 m pixels) and ``masks/`` as 0/255 PNGs, 8 tiles."""
    rng = np.random.default_rng(1)
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(8):
        img, mask = synth_tile(rng)
        profile = dict(driver="GTiff", width=48, height=48, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(500000 + 20 * i, 4500000, 0.3, 0.3))
        with rasterio.open(images / f"t{i}.tif", "w", **profile) as dst:
            dst.write(img.transpose(2, 0, 1))
        Image.fromarray(mask * 255).save(masks / f"t{i}.png")
    return images, masks
