"""Which slippy-map (XYZ) tiles cover an area at a zoom, in the Web Mercator grid of ``tiles.georef``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from pgssl_core.errors import PgsslError
from pgssl_core.tiles.georef import MAX_XYZ_ZOOM, WEB_MERCATOR_HALF_WORLD, xyz_bounds

#: Web Mercator's latitude limit (deg): the square world of the XYZ grid ends here.
MAX_LATITUDE: float = 85.05112878

TileAddress = tuple[int, int, int]  # (z, x, y)

#: Most tiles one import may list, even when the user confirms a plan above the cap: a plan is held in
#: memory (about 100 bytes a tile, plus a square per candidate for an area), so this keeps it near 100 MB.
#: A million 256 px tiles is 65 gigapixels, a whole city at zoom 18; larger areas go in several imports.
MAX_PLAN_TILES: int = 1_000_000


@dataclass(frozen=True)
class TilePlan:
    """The tiles to fetch: ``tiles`` (z, x, y) row-major, and ``area`` in words ("Dongcheng at zoom 18")."""

    zoom: int
    tiles: list[TileAddress]
    area: str


def check_zoom(zoom: int) -> int:
    """Return ``zoom`` if it is a valid XYZ zoom level.

    Raises:
        PgsslError: ``zoom`` is outside 0..:data:`MAX_XYZ_ZOOM` (30).
    """
    if not 0 <= zoom <= MAX_XYZ_ZOOM:
        raise PgsslError(f"zoom must be between 0 and {MAX_XYZ_ZOOM}, got {zoom}")
    return zoom


def check_bbox(west: float, south: float, east: float, north: float) -> tuple[float, float, float, float]:
    """A WGS84 bounding box (deg) with west < east, south < north, inside Web Mercator's latitude range."""
    values = (west, south, east, north)
    if not all(math.isfinite(v) for v in values):
        raise PgsslError(f"the bounding box must be four finite numbers W S E N, got {values}")
    if not (-180 <= west < east <= 180 and -MAX_LATITUDE <= south < north <= MAX_LATITUDE):
        raise PgsslError(f"the bounding box W S E N = {values} must have -180 <= W < E <= 180 and "
                         f"-{MAX_LATITUDE} <= S < N <= {MAX_LATITUDE} (degrees, WGS84)")
    return values


def _tile_range(left: float, bottom: float, right: float, top: float, zoom: int) -> tuple[range, range]:
    """Columns and rows of the tiles that overlap EPSG:3857 bounds (m) at ``zoom`` (edges touching do not count)."""
    size = 2 * WEB_MERCATOR_HALF_WORLD / 2**zoom
    last = 2**zoom - 1

    def index(v: float, high: bool) -> int:
        i = math.ceil(v / size) - 1 if high else math.floor(v / size)
        return min(max(i, 0), last)

    cols = range(index(left + WEB_MERCATOR_HALF_WORLD, False), index(right + WEB_MERCATOR_HALF_WORLD, True) + 1)
    rows = range(index(WEB_MERCATOR_HALF_WORLD - top, False), index(WEB_MERCATOR_HALF_WORLD - bottom, True) + 1)
    # Counted before any tile is listed: at zoom 30 a small bbox is billions of tiles.
    count = len(cols) * len(rows)
    if count > MAX_PLAN_TILES:
        raise PgsslError(f"the area is {count:,} tiles at zoom {zoom}, more than one import can list "
                         f"({MAX_PLAN_TILES:,}): choose a lower zoom or a smaller area")
    return cols, rows


_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def bbox_tiles(west: float, south: float, east: float, north: float, zoom: int) -> TilePlan:
    """Every tile at ``zoom`` overlapping a WGS84 bounding box (deg)."""
    west, south, east, north = check_bbox(west, south, east, north)
    left, bottom = _TO_MERCATOR.transform(west, south)
    right, top = _TO_MERCATOR.transform(east, north)
    cols, rows = _tile_range(left, bottom, right, top, check_zoom(zoom))
    tiles = [(zoom, x, y) for y in rows for x in cols]
    return TilePlan(zoom, tiles, f"{west:g}, {south:g}, {east:g}, {north:g} at zoom {zoom}")


def area_tiles(name: str, area: gpd.GeoDataFrame, zoom: int) -> TilePlan:
    """The tiles at ``zoom`` whose square overlaps the polygons of ``area`` (any CRS), e.g. a district."""
    merc = area.to_crs(3857)
    shape = shapely.union_all(merc.geometry.to_numpy())
    if shape.is_empty:
        raise PgsslError(f"{name} has no area")
    left, bottom, right, top = shape.bounds
    cols, rows = _tile_range(left, bottom, right, top, check_zoom(zoom))
    candidates = [(zoom, x, y) for y in rows for x in cols]
    squares = shapely.box(*np.array([xyz_bounds(*t) for t in candidates]).T)
    shapely.prepare(shape)
    keep = shapely.intersects(shape, squares) & ~shapely.touches(shape, squares)
    return TilePlan(zoom, [t for t, k in zip(candidates, keep) if k], f"{name} at zoom {zoom}")
