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
