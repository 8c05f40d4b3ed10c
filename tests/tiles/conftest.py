"""Fixtures for the tile I/O tests: tiny generated rasters with a real CRS and transform."""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning

# UTM zone 50N (Beijing), 0.5 m pixels, a plausible upper-left corner.
UTM50N = CRS.from_epsg(32650)
ORIGIN_TRANSFORM = Affine(0.5, 0.0, 440_000.0, 0.0, -0.5, 4_420_000.0)


def write_geotiff(path: Path, data: np.ndarray, *, crs: CRS | None = UTM50N,
                  transform: Affine | None = ORIGIN_TRANSFORM, nodata: float | None = None,
                  mask: np.ndarray | None = None, colorinterp=None, **profile) -> Path:
    """Write ``data`` (bands, H, W) as a GeoTIFF; ``mask`` (H, W) bool becomes an internal mask."""
    count, height, width = data.shape
    kwargs = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": data.dtype.name}
    if crs is not None:
        kwargs["crs"] = crs
    if transform is not None:
        kwargs["transform"] = transform
    if nodata is not None:
        kwargs["nodata"] = nodata
    kwargs.update(profile)
    with warnings.catch_warnings(), rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **kwargs) as dst:
            dst.write(data)
            if colorinterp is not None:
                dst.colorinterp = colorinterp
            if mask is not None:
                dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
    return path


@pytest.fixture
def make_geotiff(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_geotiff(data, name="x.tif", **kw)`` -> path of a GeoTIFF in ``tmp_path``."""
    def _make(data: np.ndarray, name: str = "raster.tif", **kwargs) -> Path:
        return write_geotiff(tmp_path / name, data, **kwargs)
    return _make


@pytest.fixture
def rgb_u8() -> np.ndarray:
    """A deterministic (3, 64, 80) uint8 image with distinct bands."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(3, 64, 80), dtype=np.uint8)


@pytest.fixture
def rgb_tif(make_geotiff, rgb_u8) -> Path:
    """A 80 x 64 px, 3-band uint8 GeoTIFF in EPSG:32650."""
    return make_geotiff(rgb_u8, name="rgb.tif")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC)."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` 8-bit greyscale, with a (tiny) IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = idat or zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
