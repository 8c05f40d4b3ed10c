"""Imaged extent: where valid imagery exists (the denominator of every coverage ratio)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from affine import Affine

from pgssl_core.errors import PgsslError


def imaged_extent(valid: np.ndarray, transform: Affine, crs, name: str) -> gpd.GeoDataFrame:
    """One row (``tile`` = ``name``, geometry = union of the valid pixels of a (H, W) bool mask)."""
    if crs is None:
        raise PgsslError(f"{name} has no CRS; it cannot be placed in a district")
    valid = np.asarray(valid, dtype=bool)
    parts = [shapely.geometry.shape(g) for g, _ in
             rasterio.features.shapes(valid.astype(np.uint8), mask=valid, transform=transform)]
    geom = shapely.union_all(parts) if parts else shapely.Polygon()
    return gpd.GeoDataFrame({"tile": [name]}, geometry=[geom], crs=crs)


#: The name of the one "district" that stands for the whole imaged area (no boundary covers the tiles).
IMAGED_AREA = "Imaged area"


def imaged_area(extents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One "district" named :data:`IMAGED_AREA`: the union of the imaged tile extents (any CRS, kept),
    for totals where no district boundary covers the tiles."""
    union = shapely.union_all(extents.geometry.to_numpy())
    return gpd.GeoDataFrame({"district": [IMAGED_AREA]}, geometry=[union], crs=extents.crs)


def site_of(geoms: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[float, float] | None:
    """``(lat, lon)`` in degrees WGS84 of the centre of ``geoms`` (e.g. the imaged extents), or None when
    empty or without a CRS: the place whose sun, latitude and country the PV defaults follow.

    The centre is the mean latitude of the geometries' representative points and their circular mean
    longitude (tiles either side of the 180th meridian average to it, not to 0). One site per project:
    a city spans a fraction of a degree, well inside the +/- 10 deg range of the site tilt.
    """
    if geoms.crs is None or not len(geoms):
        return None
    points = geoms.geometry[~geoms.geometry.is_empty].representative_point().to_crs(4326)
    if not len(points):
        return None
    lon = np.degrees(np.arctan2(np.sin(np.radians(points.x)).mean(), np.cos(np.radians(points.x)).mean()))
    return float(points.y.mean()), float(lon)
