"""Fixtures for assessment tests: drawn building masks on real CRSs near Beijing."""

from __future__ import annotations

import geopandas as gpd
import pytest
from rasterio.transform import from_origin
from shapely.geometry import box

UTM50 = "EPSG:32650"
ORIGIN = (448_000.0, 4_420_000.0)  # UTM 50N, about 39.93 N 116.40 E (central Beijing); multiples of 100 m


@pytest.fixture
def utm_grid():
    """(transform, crs) of a 0.5 m grid whose top-left corner is ``ORIGIN``."""
    return from_origin(*ORIGIN, 0.5, 0.5), UTM50


@pytest.fixture
def square_district():
    """``square_district(x0, y0, x1, y1, name)`` -> one-row GeoDataFrame in UTM 50N (metres)."""
    def _make(x0, y0, x1, y1, name):
        return gpd.GeoDataFrame({"name": [name]}, geometry=[box(x0, y0, x1, y1)], crs=UTM50)
    return _make
