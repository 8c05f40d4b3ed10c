"""Density grid: coverage per 100 m cell, imaged pixels only."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from rasterio.transform import from_origin
from shapely.geometry import box

from pgssl_core.assess.density import density_grid
from pgssl_core.assess.imaged import imaged_extent
from pgssl_core.assess.metric_crs import zone_crs, zone_key

# Cells are laid out in the equal-area CRS of the zone around central Beijing (116.4 E, 39.9 N);
# build the data in that CRS so the cells' edges are multiples of 100 m.
ZONE_CRS = zone_crs(zone_key(116.4, 39.9))
X0, Y0 = -51_000.0, -11_000.0  # bottom-left of a 200 m x 200 m imaged square, near 116.4 E 39.9 N


def test_coverage_per_cell_against_hand_arithmetic():
    transform, crs = from_origin(X0, Y0 + 200.0, 0.5, 0.5), ZONE_CRS  # 0.5 m pixels
    valid = np.ones((400, 400), bool)
    valid[:200, 200:] = False  # top-right 100 m cell has no imagery
    valid[200:300, :200] = False  # bottom-left cell: only its lower half (5,000 m2) is imaged
    imaged = imaged_extent(valid, transform, crs, "t1")
    footprints = gpd.GeoDataFrame(geometry=[
        box(X0 + 110, Y0 + 10, X0 + 160, Y0 + 30),   # 50 x 20 = 1000 m2 in bottom-right cell
        box(X0 + 80, Y0 + 150, X0 + 120, Y0 + 160),  # 400 m2 across top-left (200) / top-right (200)
        box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30),     # 400 m2 in the imaged half of bottom-left
    ], crs=crs)
    grid = density_grid(footprints, imaged, cell_m=100.0, out_crs=crs)
    cells = {(round(g.bounds[0] - X0), round(g.bounds[1] - Y0)): row for g, (_, row) in
             zip(grid.geometry, grid.iterrows())}
    assert set(cells) == {(0, 0), (100, 0), (0, 100)}  # the unimaged cell is absent, not 0
    assert cells[(0, 0)]["imaged_m2"] == pytest.approx(5000.0)
    assert cells[(0, 0)]["coverage"] == pytest.approx(400 / 5000)
    assert cells[(100, 0)]["coverage"] == pytest.approx(1000 / 10000)
    # Only the imaged half of the straddling building counts (the other half lies in no imagery).
    assert cells[(0, 100)]["building_m2"] == pytest.approx(200.0)
    assert cells[(0, 100)]["coverage"] == pytest.approx(200 / 10000)


def test_default_output_is_wgs84_with_centres(utm_grid):
    transform, crs = utm_grid
    imaged = imaged_extent(np.ones((400, 400), bool), transform, crs, "t1")
    grid = density_grid(gpd.GeoDataFrame(geometry=[], crs=crs), imaged)
    # a 200 m UTM square over zone-aligned 100 m cells: 4 full cells, or up to 9 partly imaged ones
    assert grid.crs.to_epsg() == 4326 and 4 <= len(grid) <= 9
    assert (grid["coverage"] == 0).all()
    true_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(imaged.to_crs(4326).geometry.iloc[0])[0])
    assert grid["imaged_m2"].sum() == pytest.approx(true_m2, rel=1e-6)
    assert grid["lat"].between(39.8, 40.0).all() and grid["lon"].between(116.3, 116.5).all()
