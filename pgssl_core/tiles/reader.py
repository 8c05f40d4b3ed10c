"""``read_tile``: any supported file, read whole, as a validated ``Tile``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rasterio.crs import CRS

from pgssl_core.tiles.formats import MAX_TILE_PIXELS, check_dimensions, check_min_size, sniff_format
from pgssl_core.tiles.plain_image import plain_image_size, read_plain_image
from pgssl_core.tiles.raster import open_raster
from pgssl_core.tiles.tile import Tile, validate_tile


def read_geotiff_whole(path: Path, band_map: Sequence[int] | None, max_pixels: int) -> Tile:
    """A GeoTIFF of at most ``max_pixels`` read in one window (not yet validated)."""
    with open_raster(path, band_map) as src:
        check_dimensions(path.name, "gtiff", src.width, src.height, max_pixels)
        check_min_size(path.name, src.width, src.height)
        image, valid = src.read_window(0, 0, src.width, src.height)
        return Tile(image=image, valid=valid, transform=src.transform, crs=src.crs, meta=src.meta,
                    not_georeferenced_reason=src.not_georeferenced_reason)


def read_tile(path: str | os.PathLike[str], band_map: Sequence[int] | None = None,
              max_pixels: int = MAX_TILE_PIXELS, default_crs: CRS | str | None = None) -> Tile:
    """Read a GeoTIFF, PNG, JPEG or WebP whole as a ``Tile`` ((H, W, 3) uint8 RGB + validity).

    ``band_map``: 1-based band indices for R, G, B (one index = grey). ``max_pixels``: refuse files
    with more pixels (width * height) than this; split large GeoTIFFs with ``iter_raster_tiles``.
    ``default_crs``: CRS of a world file that has no ``.prj`` sidecar (plain images only).
    Raises ``TileError`` (one line) for unreadable, unsupported, oversized, tiny or all-nodata input.
    """
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "gtiff":
        tile = read_geotiff_whole(path, band_map, max_pixels)
    else:
        tile = read_plain_image(path, fmt, band_map, max_pixels, default_crs)
    return validate_tile(tile)


def probe_size(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """``(format, width, height)`` from the header only; ``TileError`` for bad input."""
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "gtiff":
        with open_raster(path) as src:
            return fmt, src.width, src.height
    width, height = plain_image_size(path, fmt)
    check_dimensions(path.name, fmt, width, height, None)
    return fmt, width, height


def needs_split(path: str | os.PathLike[str], tile_size: int = 512) -> bool:
    """True if either side of the file (px, from its header) is larger than ``tile_size``."""
    _, width, height = probe_size(path)
    return width > tile_size or height > tile_size
