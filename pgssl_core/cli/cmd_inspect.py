"""``python -m pgssl_core inspect PATH``: print a JSON summary of a tile or raster file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pgssl_core.cli.arg_types import positive_int
from pgssl_core.errors import TileError
from pgssl_core.tiles import MAX_TILE_PIXELS, Tile, open_raster, probe_size, read_tile
from pgssl_core.tiles.formats import check_min_size
from pgssl_core.tiles.gsd import ground_gsd_m
from pgssl_core.tiles.raster import RasterSource
from pgssl_core.tiles.tile import all_nodata_error
from pgssl_core.tiles.validate import validate_input

NAME = "inspect"
HELP = "Print a JSON summary of an image or raster (size, bands, dtype, CRS, bounds, GSD, nodata fraction)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` options: the file, its band map and the tile size used to judge splitting."""
    parser.add_argument("path", type=Path, help="GeoTIFF, PNG, JPEG or WebP file")
    parser.add_argument("--band-map", default=None, metavar="R,G,B",
                        help="1-based source bands for red, green, blue (e.g. 4,3,2), or one band for grey")
    parser.add_argument("--tile-size", type=positive_int, default=512, metavar="PX",
                        help="tile size (px) used to say whether the file needs splitting (default 512)")


def _parse_band_map(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise TileError(f"--band-map must be comma-separated band numbers like 4,3,2, got {text!r}") from None


def _summary(source: Tile | RasterSource, nodata_fraction: float, tile_size: int, data_share: float = 1.0) -> dict:
    """Fields common to a whole-read tile and a windowed raster; ``gsd_m`` is the ground metres per pixel
    that ``train``/``predict``/``evaluate`` read from the georeference (``None`` without one)."""
    meta = source.meta
    bounds = source.bounds
    gsd = ground_gsd_m(source.transform, source.crs, source.width, source.height)
    return {
        "file": meta.source_name, "driver": meta.driver, "width": meta.width, "height": meta.height,
        "bands": meta.bands, "dtype": meta.dtype, "nodata": meta.nodata,
        "crs": source.crs.to_string() if source.crs is not None else None,
        "bounds": list(bounds) if bounds is not None else None,
        "gsd_m": float(f"{gsd:.4g}") if gsd is not None else None,
        "georeferenced": source.georeferenced,
        "not_georeferenced_reason": source.not_georeferenced_reason,
        "nodata_fraction": round(nodata_fraction, 6),
        "data_share": float(f"{data_share:.6g}"),  # share inside blocks stored in the file (< 1 when sparse)
        "needs_split": meta.width > tile_size or meta.height > tile_size,
    }


def run(args: argparse.Namespace) -> int:
    """Validate one image file and print its summary (size, bands, GSD, nodata share, splitting) as JSON.

    Large GeoTIFFs are read window by window rather than whole.

    Returns:
        Exit status 0.

    Raises:
        PgsslError: the file fails the import checks (format, size, bands) or holds only nodata.
    """
    band_map = _parse_band_map(args.band_map)
    validate_input(args.path, band_map)  # the checks every entry point runs, before any full read
    fmt, width, height = probe_size(args.path)
    if fmt == "gtiff" and width * height > MAX_TILE_PIXELS:
        # Too large to read whole: count nodata window by window instead.
        with open_raster(args.path, band_map) as src:
            check_min_size(args.path.name, src.width, src.height)
            fraction = src.nodata_fraction()
            if fraction >= 1.0:
                raise all_nodata_error(args.path.name)
            summary = _summary(src, fraction, args.tile_size, src.data_share)
    else:
        tile = read_tile(args.path, band_map=band_map)
        summary = _summary(tile, tile.nodata_fraction, args.tile_size)
    print(json.dumps(summary, indent=2))
    return 0
