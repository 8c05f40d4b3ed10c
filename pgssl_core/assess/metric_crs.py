"""Choice of metric and equal-area CRSs for areas in square metres.

Summed quantities (footprint areas, imaged areas, density cells) are measured in a CRS that fits
the place of each geometry, never in one zone stretched over a whole data set: ``zone_key`` puts a
point into a fixed zone (6 degrees of longitude, as UTM's, by 8 degrees of latitude; beyond 84
degrees north or south one polar cap each), and ``zone_crs`` is a Lambert azimuthal equal-area
projection centred on that zone. It is equal-area everywhere (areas exact) and, within its zone,
keeps lengths within about 0.1% (scale error 1 - cos(c/2) at c = 555 km, the farthest corner),
so a "100 m" grid cell is 100 m wide to within 0.1 m and holds 10,000 m2. A single UTM zone taken
at the centre of tiles near 117 E and 123 E gave 96.7-98.8 m cells. The zones are fixed, so grids
from different runs line up.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from pgssl_core.errors import PgsslError


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> CRS:
    """The CRS of ``gdf``, or a one-line error naming ``what`` lacks one."""
    if gdf.crs is None:
        raise PgsslError(f"{what} has no CRS; assign one (e.g. EPSG:4326) before running the assessment")
    return gdf.crs


def equal_area(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Albers equal-area conic fitted to ``gdf``'s extent (standard parallels at 1/6 and 5/6 of it)."""
    require_crs(gdf, "the geometry")
    west, south, east, north = gdf.to_crs(4326).total_bounds
    span = max(north - south, 1e-6)
    lat1, lat2 = south + span / 6.0, north - span / 6.0
    return CRS.from_proj4(f"+proj=aea +lat_1={lat1:.6f} +lat_2={lat2:.6f} +lat_0={(south + north) / 2:.6f} "
                          f"+lon_0={(west + east) / 2:.6f} +datum=WGS84 +units=m +no_defs")


#: Latitude (deg) beyond which a point belongs to a polar cap (UTM's own northern limit).
POLAR_LAT: float = 84.0
#: Width (deg of longitude) and height (deg of latitude) of a zone below ``POLAR_LAT``.
ZONE_LON_DEG: float = 6.0
ZONE_LAT_DEG: float = 8.0

#: ``("cap", +1 | -1)`` or ``("zone", lon index, lat index)`` (see ``zone_key``).
ZoneKey = tuple[Literal["cap"], int] | tuple[Literal["zone"], int, int]


def zone_key(lon: float, lat: float) -> ZoneKey:
    """The fixed zone of a WGS84 point: ``("cap", +1 | -1)`` or ``("zone", lon index, lat index)``."""
    if lat >= POLAR_LAT:
        return ("cap", 1)
    if lat <= -POLAR_LAT:
        return ("cap", -1)
    lon = ((lon + 180.0) % 360.0) - 180.0
    return ("zone", min(int((lon + 180.0) // ZONE_LON_DEG), 59),
            int((lat + POLAR_LAT) // ZONE_LAT_DEG))


def zone_bounds(key: ZoneKey) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in degrees of a zone (a polar cap spans every longitude)."""
    if key[0] == "cap":
        return (-180.0, POLAR_LAT, 180.0, 90.0) if key[1] > 0 else (-180.0, -90.0, 180.0, -POLAR_LAT)
    _, ix, iy = key
    west, south = -180.0 + ix * ZONE_LON_DEG, -POLAR_LAT + iy * ZONE_LAT_DEG
    return west, south, west + ZONE_LON_DEG, min(south + ZONE_LAT_DEG, POLAR_LAT)


@functools.lru_cache(maxsize=256)
def zone_crs(key: ZoneKey) -> CRS:
    """Lambert azimuthal equal-area CRS (metres, WGS84) centred on zone ``key`` (a cap: on its pole)."""
    if key[0] == "cap":
        lat0, lon0 = (90.0 if key[1] > 0 else -90.0), 0.0
    else:
        west, south, east, north = zone_bounds(key)
        lat0, lon0 = (south + north) / 2.0, (west + east) / 2.0
    return CRS.from_proj4(f"+proj=laea +lat_0={lat0:g} +lon_0={lon0:g} +datum=WGS84 +units=m +no_defs")


def zone_region(key: ZoneKey) -> shapely.Geometry:
    """The zone as a WGS84 polygon (meridians and parallels are straight lines in lon/lat)."""
    return shapely.box(*zone_bounds(key))


def zone_keys_of(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> list[ZoneKey]:
    """The zone of each geometry's representative point (WGS84 lon/lat)."""
    require_crs(geoms, "the geometry")
    points = geoms.geometry.representative_point().to_crs(4326)
    return [zone_key(x, y) for x, y in zip(points.x.to_numpy(), points.y.to_numpy())]


def zone_groups(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> dict[ZoneKey, np.ndarray]:
    """Positions (int array) of the geometries in each zone, keyed by zone."""
    groups: dict[ZoneKey, list[int]] = {}
    for i, key in enumerate(zone_keys_of(geoms)):
        groups.setdefault(key, []).append(i)
    return {key: np.asarray(idx, dtype=int) for key, idx in groups.items()}


def zones_touched(geoms_wgs84: gpd.GeoSeries | gpd.GeoDataFrame) -> list[ZoneKey]:
    """Every zone that the bounds of any WGS84 geometry touch (a tile may straddle a zone edge)."""
    keys: set[ZoneKey] = set()
    for west, south, east, north in shapely.bounds(geoms_wgs84.geometry.to_numpy()):
        if not all(map(math.isfinite, (west, south, east, north))):
            continue
        for lat in (south, north, *np.arange(south, north, ZONE_LAT_DEG / 2)):
            for lon in (west, east, *np.arange(west, east, ZONE_LON_DEG / 2)):
                keys.add(zone_key(float(lon), float(lat)))
    return sorted(keys, key=repr)
