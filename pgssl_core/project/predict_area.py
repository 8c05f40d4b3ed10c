"""Part of a project to predict: the tiles whose area meets a rectangle drawn on the map.

The Map page lets the user draw a rectangle (west, south, east, north in WGS84 degrees, as Leaflet gives it)
and predicts only the tiles it meets (``predict_project(..., tile_ids=...)``). A tile "meets" the rectangle
when the two share area: the rectangle, its edges densified, is carried into the tile's own CRS and
intersected with the tile's bounds there, so a tile in UTM, rotated against the lon/lat grid, is not picked
because its lon/lat bounding box grazes a corner of the rectangle. Tiles without a georeference cannot be
placed on a map and are never picked. A rectangle across the antimeridian (west > east) is refused: Leaflet
gives longitudes that run on past 180 instead, which :func:`check_bbox` also refuses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import shapely
from pyproj import Transformer

from pgssl_core.catalog import Project, TileRecord
from pgssl_core.errors import PgsslError
from pgssl_core.project.predict import mapped_tiles

#: (west, south, east, north) in degrees, WGS84.
BBox = tuple[float, float, float, float]

# Largest step between the densified rectangle's vertices (degrees, ~100 m at the equator): a lon/lat edge is a
# curve in a projected CRS; at this step the chord sits within centimetres of it over a city-sized rectangle.
DENSIFY_DEG = 1e-3


def check_bbox(bbox: Sequence[float]) -> BBox:
    """``bbox`` as a (west, south, east, north) tuple of floats after checking it.

    Raises:
        PgsslError: not four finite numbers, longitudes outside -180..180 or latitudes outside -90..90, or a
            rectangle without area (west >= east or south >= north, antimeridian crossings included).
    """
    try:
        west, south, east, north = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise PgsslError(f"an area is four numbers (west, south, east, north in degrees), not {bbox!r}") from exc
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise PgsslError("the area's west, south, east and north must be finite numbers of degrees")
    if not (-180.0 <= west <= 180.0 and -180.0 <= east <= 180.0 and -90.0 <= south <= 90.0 and -90.0 <= north <= 90.0):
        raise PgsslError(f"the area ({west:g}, {south:g}, {east:g}, {north:g}) lies outside -180..180 longitude "
                         "and -90..90 latitude")
    if not (west < east and south < north):
        raise PgsslError(f"the area ({west:g}, {south:g}, {east:g}, {north:g}) has no extent: west must be less "
                         "than east and south less than north (an area across the 180th meridian is not supported)")
    return west, south, east, north


@cache
def _transformer(src: str, dst: str) -> Transformer:
    """Lon/lat-ordered transformer, kept: most projects hold tiles of one or two CRSs."""
    return Transformer.from_crs(src, dst, always_xy=True)


def _meets(rectangle: shapely.Polygon, record: TileRecord) -> bool:
    """Whether the WGS84 ``rectangle`` shares area with ``record``'s bounds, compared in the tile's CRS."""
    if record.crs is None or record.bounds is None:
        return False
    x, y = _transformer("EPSG:4326", record.crs).transform(*shapely.get_coordinates(rectangle).T)
    local = shapely.Polygon(list(zip(x, y)))
    tile = shapely.box(*record.bounds)
    return bool(local.is_valid and local.intersection(tile).area > 0.0)


def tiles_in_bbox(project: Project, bbox: Sequence[float]) -> list[TileRecord]:
    """The georeferenced tiles of ``project`` that share area with ``bbox`` (west, south, east, north in WGS84
    degrees), in catalog order; empty when none does.

    Raises:
        PgsslError: ``bbox`` is not a valid area (:func:`check_bbox`).
    """
    rectangle = shapely.box(*check_bbox(bbox)).segmentize(DENSIFY_DEG)
    return [record for record in mapped_tiles(project) if _meets(rectangle, record)]


def tile_outlines(records: Sequence[TileRecord]) -> dict[str, shapely.Polygon]:
    """Tile id -> the tile's bounds as a WGS84 polygon (lon/lat degrees, 21 points per edge, so a projected
    tile's curved lon/lat edges are followed), for the georeferenced ``records``; the others are left out."""
    outlines = {}
    for record in records:
        if record.crs is None or record.bounds is None:
            continue
        x, y = _transformer(record.crs, "EPSG:4326").transform(
            *shapely.get_coordinates(shapely.box(*record.bounds).segmentize(
                max(record.bounds[2] - record.bounds[0], record.bounds[3] - record.bounds[1]) / 20)).T)
        outlines[record.id] = shapely.Polygon(list(zip(x, y)))
    return outlines


def tiles_bbox(records: Sequence[TileRecord]) -> BBox | None:
    """The (west, south, east, north) WGS84 degrees around ``records``' outlines (:func:`tile_outlines`), or
    None when none is georeferenced (the Map page's rectangle starts there)."""
    outlines = list(tile_outlines(records).values())
    if not outlines:
        return None
    west, south, east, north = shapely.total_bounds(outlines)
    return float(west), float(south), float(east), float(north)
