"""Choice of metric and equal-area CRSs for areas in square metres."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from pgssl_core.errors import PgsslError


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> CRS:
    """The CRS of ``gdf``, or a one-line error naming ``what`` lacks one."""
    if gdf.crs is None:
        raise PgsslError(f"{what} has no CRS; assign one (e.g. EPSG:4326) before running the assessment")
    return gdf.crs


def local_utm(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """UTM zone (WGS84) at the centroid of ``gdf``'s bounds: metric, area error well below 0.1% nearby."""
    require_crs(gdf, "the geometry")
    crs = gdf.estimate_utm_crs()
    if crs is None:
        raise PgsslError("cannot choose a UTM zone for these geometries (empty or outside UTM coverage)")
    return crs


def equal_area(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Albers equal-area conic fitted to ``gdf``'s extent (standard parallels at 1/6 and 5/6 of it)."""
    require_crs(gdf, "the geometry")
    west, south, east, north = gdf.to_crs(4326).total_bounds
    span = max(north - south, 1e-6)
    lat1, lat2 = south + span / 6.0, north - span / 6.0
    return CRS.from_proj4(f"+proj=aea +lat_1={lat1:.6f} +lat_2={lat2:.6f} +lat_0={(south + north) / 2:.6f} "
                          f"+lon_0={(west + east) / 2:.6f} +datum=WGS84 +units=m +no_defs")
