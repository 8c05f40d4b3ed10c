"""Tile I/O: read GeoTIFF/PNG/JPEG/WebP as 8-bit RGB tiles, split large rasters, write GeoTIFFs.

Formats are decided by magic bytes (``sniff_format``); plain images are georeferenced from a
world file or an XYZ tile name; large GeoTIFFs are read window by window with one global stretch.
"""

from pgssl_core.tiles.formats import MAX_TILE_PIXELS, MIN_TILE_SIDE, sniff_format
from pgssl_core.tiles.georef import parse_xyz_name, xyz_bounds, xyz_transform
from pgssl_core.tiles.raster import RasterSource, open_raster
from pgssl_core.tiles.reader import needs_split, probe_size, read_tile
from pgssl_core.tiles.split import iter_raster_tiles, tile_windows
from pgssl_core.tiles.tile import Tile, TileMeta
from pgssl_core.tiles.writer import write_tile_geotiff

__all__ = [
    "MAX_TILE_PIXELS", "MIN_TILE_SIDE", "RasterSource", "Tile", "TileMeta", "iter_raster_tiles",
    "needs_split", "open_raster", "parse_xyz_name", "probe_size", "read_tile", "sniff_format",
    "tile_windows", "write_tile_geotiff", "xyz_bounds", "xyz_transform",
]
