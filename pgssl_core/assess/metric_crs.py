"""Choice of metric and equal-area CRSs for areas in square metres."""

from __future__ import annotations

import functools
import math

import geopandas as gpd
from pyproj import CRS, Transformer

from pgssl_core.errors import PgsslError


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> CRS:
    """The CRS of ``gdf``, or a one-line error naming ``what`` lacks one."""
    if gdf.crs is None:
        raise PgsslError(f"{what} has no CRS; assign one (e.g. EPSG:4326) before running the assessment")
    return gdf.crs


@functools.lru_cache(maxsize=64)
def _to_wgs84(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(crs_wkt), 4326, always_xy=True)


@functools.lru_cache(maxsize=256)
def _utm(zone: int, north: bool) -> CRS:
    return CRS.from_epsg((32600 if north else 32700) + zone)


def local_utm(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """UTM zone (WGS84) at the centre of ``gdf``'s bounds: metric, area error well below 0.1% nearby.

    The zone is computed from the longitude (standard 6-degree zones) rather than with
    ``estimate_utm_crs``, which queries the PROJ database (~0.1 s a call) and ran once per tile.
    """
    crs = require_crs(gdf, "the geometry")
    west, south, east, north = gdf.total_bounds
    if not all(map(math.isfinite, (west, south, east, north))):
        raise PgsslError("cannot choose a UTM zone for these geometries (empty or outside UTM coverage)")
    lon, lat = _to_wgs84(crs.to_wkt()).transform((west + east) / 2, (south + north) / 2)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 84:
        raise PgsslError("cannot choose a UTM zone for these geometries (empty or outside UTM coverage)")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return _utm(zone, lat >= 0)


def equal_area(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Albers equal-area conic fitted to ``gdf``'s extent (standard parallels at 1/6 and 5/6 of it)."""
    require_crs(gdf, "the geometry")
    west, south, east, north = gdf.to_crs(4326).total_bounds
    span = max(north - south, 1e-6)
    lat1, lat2 = south + span / 6.0, north - span / 6.0
    return CRS.from_proj4(f"+proj=aea +lat_1={lat1:.6f} +lat_2={lat2:.6f} +lat_0={(south + north) / 2:.6f} "
                          f"+lon_0={(west + east) / 2:.6f} +datum=WGS84 +units=m +no_defs")
