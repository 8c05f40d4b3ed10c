"""Writing a ``Tile`` as a tiled, deflate-compressed 8-bit RGB GeoTIFF (atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio

from pgssl_core.io import atomic_write_with
from pgssl_core.tiles.georef import ungeoreferenced_ok
from pgssl_core.tiles.tile import Tile

#: Internal TIFF block size (px); GeoTIFF blocks must be multiples of 16.
BLOCK_SIZE: int = 256


def write_tile_geotiff(path: str | os.PathLike[str], tile: Tile) -> None:
    """Write ``tile`` to ``path`` as a 3-band uint8 GeoTIFF, atomically (temp file + rename).

    Invalid pixels go into an internal 1-bit mask (written only when some pixel is invalid), so
    ``read_tile`` of the result returns the same image, valid mask, transform and CRS. A tile
    without georeferencing is written without a transform/CRS.
    """
    height, width = tile.valid.shape
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 3, "dtype": "uint8",
        "tiled": True, "blockxsize": BLOCK_SIZE, "blockysize": BLOCK_SIZE,
        "compress": "deflate", "predictor": 2, "interleave": "pixel", "photometric": "RGB",
    }
    if tile.transform is not None:
        profile["transform"] = tile.transform
    if tile.crs is not None:
        profile["crs"] = tile.crs
    bands = np.ascontiguousarray(np.moveaxis(tile.image, -1, 0))  # (3, H, W)
    has_invalid = not bool(tile.valid.all())

    def _write(tmp: Path) -> None:
        # The mask must live inside the .tif (not a .msk sidecar) or the rename would lose it.
        with ungeoreferenced_ok(), rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(bands)
                if has_invalid:
                    dst.write_mask(np.where(tile.valid, 255, 0).astype(np.uint8))

    atomic_write_with(path, _write)
