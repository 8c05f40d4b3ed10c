"""Splitting a raster into tiles of a fixed size.

GeoTIFFs are read window by window (memory bounded whatever their size); PNG/JPEG/WebP are read
whole (they are capped at ``MAX_TILE_PIXELS``) and cut in memory.

Edge policy: tiles at the right/bottom edge are yielded smaller than ``tile_size`` (never padded);
an edge tile narrower or shorter than ``MIN_TILE_SIDE`` (32 px) is SKIPPED, so at most a 31-px
strip along the right/bottom edge is left out. Tiles without a single valid pixel are skipped too;
windows over blocks absent from a sparse GeoTIFF are skipped without being read, so splitting costs
time in proportion to the stored data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from rasterio.crs import CRS

from pgssl_core.tiles.formats import MAX_TILE_PIXELS, MIN_TILE_SIDE, check_min_size, sniff_format
from pgssl_core.tiles.georef import shift_transform
from pgssl_core.tiles.plain_image import read_plain_image
from pgssl_core.tiles.raster import open_raster
from pgssl_core.tiles.tile import Tile, all_nodata_error

Window = tuple[int, int, int, int]  # (row_off, col_off, height, width) in px


def tile_windows(width: int, height: int, tile_size: int = 512) -> list[Window]:
    """Row-major grid of windows covering a ``width`` x ``height`` raster, edge slivers dropped."""
    if tile_size < MIN_TILE_SIDE:
        raise ValueError(f"tile_size must be at least {MIN_TILE_SIDE} px, got {tile_size}")
    windows = []
    for row in range(0, height, tile_size):
        h = min(tile_size, height - row)
        for col in range(0, width, tile_size):
            w = min(tile_size, width - col)
            if h >= MIN_TILE_SIDE and w >= MIN_TILE_SIDE:
                windows.append((row, col, h, w))
    return windows


def _geotiff_tiles(path: Path, tile_size: int, band_map: Sequence[int] | None) -> Iterator[tuple[Window, Tile]]:
    with open_raster(path, band_map) as src:
        check_min_size(path.name, src.width, src.height)
        windows = tile_windows(src.width, src.height, tile_size)
        if not src.blocks.complete:  # a sparse file: only windows over stored blocks are read
            hit = {(r, c) for col, row, w, h in src.blocks.present_windows()
                   for r in range(row // tile_size, (row + h - 1) // tile_size + 1)
                   for c in range(col // tile_size, (col + w - 1) // tile_size + 1)}
            windows = [win for win in windows if (win[0] // tile_size, win[1] // tile_size) in hit
                       and src.window_has_data(win[1], win[0], win[3], win[2])]
        for window in windows:
            row, col, h, w = window
            image, valid = src.read_window(col, row, w, h)
            yield window, Tile(image=image, valid=valid, transform=src.window_transform(col, row), crs=src.crs,
                               meta=src.meta, not_georeferenced_reason=src.not_georeferenced_reason)


def _plain_image_tiles(path: Path, fmt: str, tile_size: int, band_map: Sequence[int] | None,
                       default_crs: CRS | str | None) -> Iterator[tuple[Window, Tile]]:
    whole = read_plain_image(path, fmt, band_map, MAX_TILE_PIXELS, default_crs)
    for window in tile_windows(whole.width, whole.height, tile_size):
        row, col, h, w = window
        yield window, Tile(image=whole.image[row:row + h, col:col + w].copy(),
                           valid=whole.valid[row:row + h, col:col + w].copy(),
                           transform=shift_transform(whole.transform, col, row), crs=whole.crs, meta=whole.meta,
                           not_georeferenced_reason=whole.not_georeferenced_reason)


def iter_raster_tiles(path: str | os.PathLike[str], tile_size: int = 512, band_map: Sequence[int] | None = None,
                      default_crs: CRS | str | None = None) -> Iterator[tuple[tuple[int, int], Tile]]:
    """Yield ``((row_off, col_off), Tile)`` for each tile of ``path`` in row-major order.

    Each ``Tile`` has its own window transform (pixel offsets in px of the source) and the source
    file's ``meta``. ``default_crs``: CRS of a world file without ``.prj`` (plain images only).
    A GeoTIFF block that turns out corrupt raises ``TileError`` mid-iteration, after the tiles before it.
    All-nodata tiles and sub-32-px edge slivers are skipped (see module doc).
    Raises ``TileError`` for bad input, a raster under 32 px, or one with no valid pixel at all.
    """
    path = Path(path)
    fmt = sniff_format(path)
    tiles = _geotiff_tiles(path, tile_size, band_map) if fmt == "gtiff" else \
        _plain_image_tiles(path, fmt, tile_size, band_map, default_crs)
    yielded = 0
    for (row, col, _, _), tile in tiles:
        if tile.valid.any():
            yielded += 1
            yield (row, col), tile
    if yielded == 0:
        raise all_nodata_error(path.name)
