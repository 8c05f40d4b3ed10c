"""Footprints: areas of drawn rectangles in m2, holes, filters, squaring, export round trips."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from pyproj import Geod, Transformer
from shapely import affinity
from shapely.geometry import Polygon, box

from pgssl_core.assess.footprints import clean_footprints, footprints_from_mask, polygons_from_mask
from pgssl_core.assess.vector_io import write_vector
from pgssl_core.errors import PgsslError


def test_rectangles_in_utm_within_one_percent(utm_grid):
    transform, crs = utm_grid
    mask = np.zeros((200, 200), bool)
    mask[10:50, 10:30] = True  # 20 m x 10 m = 200 m2
    mask[100:160, 100:190] = True  # 30 m x 45 m = 1350 m2
    gdf = footprints_from_mask(mask, transform, crs, simplify_m=0.5)
    assert sorted(gdf["area_m2"].round(1)) == pytest.approx([200.0, 1350.0], rel=0.01)
    assert gdf.crs == crs


def test_rectangles_in_web_mercator_are_measured_in_true_metres():
    # EPSG:3857 stretches lengths by 1/cos(lat): a 0.5 m ground pixel is 0.5/cos(lat) map units.
    lat = 39.9
    x0, y0 = Transformer.from_crs(4326, 3857, always_xy=True).transform(116.4, lat)
    px = 0.5 / math.cos(math.radians(lat))
    mask = np.zeros((120, 120), bool)
    mask[20:60, 20:100] = True  # 20 m x 40 m on the ground = 800 m2
    gdf = footprints_from_mask(mask, Affine(px, 0, x0, 0, -px, y0), "EPSG:3857", simplify_m=0.0)
    assert gdf["area_m2"].iloc[0] == pytest.approx(800.0, rel=0.01)
    # Web-Mercator's own planar area would be wrong by ~1/cos^2(lat) (~70%): the test can tell.
    assert gdf.geometry.area.iloc[0] > 1.5 * 800


def test_holes_kept_and_small_blobs_dropped(utm_grid):
    transform, crs = utm_grid
    mask = np.zeros((100, 100), bool)
    mask[10:70, 10:70] = True  # 30 m x 30 m courtyard building ...
    mask[30:50, 30:50] = False  # ... with a 10 m x 10 m courtyard: 800 m2
    mask[90:92, 90:92] = True  # 1 m2 speck
    gdf = footprints_from_mask(mask, transform, crs, min_area_m2=4.0)
    assert len(gdf) == 1
    assert len(gdf.geometry.iloc[0].interiors) == 1
    assert gdf["area_m2"].iloc[0] == pytest.approx(800.0, rel=0.01)


def test_valid_mask_removes_nodata_and_missing_crs_is_an_error(utm_grid):
    transform, crs = utm_grid
    mask = np.ones((40, 40), bool)
    valid = np.zeros((40, 40), bool)
    valid[:, :20] = True
    gdf = footprints_from_mask(mask, transform, crs, valid=valid)
    assert gdf["area_m2"].sum() == pytest.approx(20 * 10, rel=0.01)
    with pytest.raises(PgsslError, match="no CRS"):
        footprints_from_mask(mask, transform, None)


def test_regularisation_squares_a_jagged_rotated_building():
    true = affinity.rotate(box(0, 0, 24, 12), 30, origin=(0, 0))
    # A noisy outline (vertices every 0.5 m, jittered by up to 0.3 m), as a raster mask would give.
    rng = np.random.default_rng(0)
    coords = np.asarray(true.exterior.segmentize(0.5).coords)[:-1]
    noisy = Polygon(coords + rng.uniform(-0.3, 0.3, size=coords.shape) + (448_100, 4_419_900))
    jagged = gpd.GeoSeries([noisy], crs="EPSG:32650")
    squared = clean_footprints(jagged, simplify_m=0.5, regularize=True)
    geom = squared.geometry.iloc[0]
    assert len(geom.exterior.coords) == 5  # four right-angled corners
    assert squared["area_m2"].iloc[0] == pytest.approx(288.0, rel=0.03)
    plain = clean_footprints(jagged, simplify_m=0.5, regularize=False)
    assert len(plain.geometry.iloc[0].exterior.coords) > 5


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_export_reprojection_round_trip(utm_grid, tmp_path, suffix):
    transform, crs = utm_grid
    mask = np.zeros((100, 100), bool)
    mask[10:50, 10:30] = True
    mask[60:90, 40:95] = True
    gdf = footprints_from_mask(mask, transform, crs)
    path = write_vector(gdf, tmp_path / f"fp{suffix}", "footprints")
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == (32650 if suffix == ".gpkg" else 4326)
    again = back.to_crs(crs)
    # area_m2 is the true (ellipsoidal) area; UTM's own planar area is off by its scale factor (~0.07% here)
    geod = Geod(ellps="WGS84")
    true_m2 = [abs(geod.geometry_area_perimeter(g)[0]) for g in back.to_crs(4326).geometry]
    np.testing.assert_allclose(sorted(true_m2), sorted(gdf["area_m2"]), rtol=1e-5)
    np.testing.assert_allclose(sorted(back["area_m2"]), sorted(gdf["area_m2"]))
    assert again.geometry.iloc[0].buffer(1e-3).contains(gdf.geometry.iloc[0])


def test_unknown_extension_is_refused(utm_grid, tmp_path):
    transform, crs = utm_grid
    gdf = polygons_from_mask(np.ones((4, 4), bool), transform, crs)
    with pytest.raises(PgsslError, match="gpkg"):
        write_vector(gpd.GeoDataFrame(geometry=gdf), tmp_path / "fp.shp", "footprints")
