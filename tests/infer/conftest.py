"""Fixtures for inference tests: a tiny convolutional network and generated GeoTIFFs (UTM 50N)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from torch import nn

from pgssl_core.models import ModelConfig

CRS_UTM50 = "EPSG:32650"


class TinyConvNet(nn.Module):
    """Three 3x3 convolutions: receptive radius 3 px, so window edges far from a pixel cannot change it."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> logits (N, 2, H, W)
        return self.body(x) * 4.0  # spread the probabilities away from 0.5


@pytest.fixture
def tiny_model() -> tuple[nn.Module, ModelConfig]:
    return TinyConvNet().eval(), ModelConfig(encoder_depth=3, decoder_channels=(32, 16, 8))


def random_image(height: int, width: int, seed: int = 1) -> np.ndarray:
    """Smooth-ish random uint8 RGB (H, W, 3): blocks of colour plus noise, like rooftops on ground."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3))
    img = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:height, :width]
    return np.clip(img + rng.integers(-20, 21, size=img.shape), 0, 255).astype(np.uint8)


def write_rgb_geotiff(path: Path, image: np.ndarray, nodata: int | None = None, res: float = 0.5) -> Path:
    """Write (H, W, 3) uint8 as a 3-band GeoTIFF in UTM 50N near Beijing, ``res`` m pixels."""
    h, w = image.shape[:2]
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=CRS_UTM50,
                   transform=from_origin(448_000.0, 4_420_000.0, res, res))
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.moveaxis(image, 2, 0))
    return path


@pytest.fixture
def write_raster():
    """``write_raster(path, image, nodata=None, res=0.5)``: see ``write_rgb_geotiff``."""
    return write_rgb_geotiff


@pytest.fixture
def make_raster(tmp_path: Path):
    def _make(height: int, width: int, nodata: int | None = None, seed: int = 1, name: str = "src.tif"):
        image = random_image(height, width, seed)
        return write_rgb_geotiff(tmp_path / name, image, nodata), image
    return _make
