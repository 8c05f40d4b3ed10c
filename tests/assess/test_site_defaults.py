"""PV defaults that follow the site (issue 21): grid emission factor by country, tilt, azimuth, and roof
areas right at any latitude (a roof at the South Pole in polar stereographic coordinates)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Proj, Transformer

from pgssl_core.assess.footprints import clean_footprints
from pgssl_core.assess.grid_emissions import EF_MAX_T_MWH, GRID_FACTORS, WORLD_AVERAGE, grid_factor
from pgssl_core.assess.pv import PVAssumptions, site_columns
from pgssl_core.project.assessment import imagery_note


@pytest.mark.parametrize(("lat", "lon", "country"), [
    (39.9, 116.4, "China"), (-23.55, -46.63, "Brazil"), (28.6, 77.2, "India"), (35.7, 139.7, "Japan"),
    (40.7, -74.0, "United States"), (-26.2, 28.0, "South Africa"), (-33.9, 151.2, "Australia")])
def test_emission_factor_follows_the_country(lat: float, lon: float, country: str) -> None:
    grid = grid_factor(lat, lon)
    assert grid.country == country and grid.known
    a = PVAssumptions().for_site(lat, lon).emission_factor_t_mwh
    assert (a.value, a.low, a.high) == (grid.value, grid.low, grid.high)
    assert country in a.source and "site default" in a.source


def test_china_keeps_the_published_factor_and_every_factor_fits_the_slider() -> None:
    assert PVAssumptions().for_site(39.9, 116.4).emission_factor_t_mwh.value == 0.5703
    for grid in (*GRID_FACTORS, WORLD_AVERAGE):
        assert 0.0 <= grid.low <= grid.value <= grid.high <= EF_MAX_T_MWH
        assert len(grid.source) > 30  # every constant names its source


def test_unknown_country_gets_the_flagged_world_average_and_a_user_value_is_kept() -> None:
    grid = grid_factor(48.86, 2.35)  # Paris: not in the table
    assert grid is WORLD_AVERAGE and not grid.known
    assert "SET YOUR GRID" in PVAssumptions().for_site(48.86, 2.35).emission_factor_t_mwh.source
    user = PVAssumptions().for_site(-23.55, -46.63).with_values(emission_factor_t_mwh=0.0)
    ef = user.emission_factor_t_mwh
    assert (ef.value, ef.low, ef.high) == (0.0, 0.0, 0.0) and "set by the user" in ef.source
    assert site_columns(-23.55, -46.63, user)["pv_emission_factor_t_mwh"] == 0.0


@pytest.mark.parametrize(("lat", "tilt", "azimuth"), [(-23.55, 23.6, 0.0), (39.9, 39.9, 180.0), (-0.2, 0.2, 0.0)])
def test_tilt_follows_latitude_and_azimuth_faces_the_equator(lat: float, tilt: float, azimuth: float) -> None:
    a = PVAssumptions().for_site(lat, 10.0)
    assert a.tilt_deg.value == pytest.approx(tilt) and a.azimuth_deg.value == azimuth
    # a resolved tilt moved by the user gets its own +/- 10 deg range, not the old one widened
    moved = a.with_values(tilt_deg=5.0).tilt_deg
    assert (moved.low, moved.high) == (0.0, 15.0) and "set by the user" in moved.source


def test_shown_irradiation_is_the_used_one() -> None:
    a = PVAssumptions().for_site(-23.55, -46.63)
    assert a.annual_ghi_kwh_m2.value == round(a.annual_ghi_kwh_m2.value)  # a slider can show it exactly
    assert a.with_changed(annual_ghi_kwh_m2=a.annual_ghi_kwh_m2.value) == a  # untouched: nothing changes


def _polar_roof(side_m: float) -> gpd.GeoSeries:
    """A square roof of ``side_m`` x ``side_m`` metres on the ground at 89.99 S, drawn in EPSG:3031.

    Polar stereographic is true to scale at 71 S only: near the pole one map metre is 1/0.9728 ground
    metres, so the square's side in map units is ``side_m`` times pyproj's scale factor there.
    """
    x, y = Transformer.from_crs(4326, 3031, always_xy=True).transform(30.0, -89.99)
    k = Proj("EPSG:3031").get_factors(30.0, -89.99).meridional_scale
    return gpd.GeoSeries([shapely.box(x, y, x + side_m * k, y + side_m * k)], crs=3031)


def test_polar_roof_is_measured_at_its_ground_area() -> None:
    roof = _polar_roof(20.0)  # 400 m² on the ground
    measured = float(clean_footprints(roof, simplify_m=0.0)["area_m2"].iloc[0])
    assert measured == pytest.approx(400.0, rel=0.005)
    # the geodesic area on the WGS84 ellipsoid (pyproj.Geod) agrees
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(roof.to_crs(4326).iloc[0])[0])
    assert measured == pytest.approx(geodesic, rel=1e-4)
    # 400 square map units of EPSG:3031 are more on the ground there (areal scale 0.946): not 400 m²
    naive = gpd.GeoSeries([shapely.box(0, 0, 20, 20)], crs=3031).translate(*roof.iloc[0].bounds[:2])
    assert float(clean_footprints(naive, simplify_m=0.0)["area_m2"].iloc[0]) == pytest.approx(422.7, rel=1e-3)


def test_imagery_note_computes_the_imagery_per_district() -> None:
    table = pd.DataFrame({"status": ["partly imaged", "partly imaged", "no imagery"],
                          "imaged_km2": [0.042, 0.042, 0.0], "district_km2": [40.0, 44.0, 50.0]})
    note = imagery_note(table, reference_demo=True)
    assert "0.042 km² of imagery per district" in note and "2 imaged districts" in note
    assert "reference masks" in note
    assert imagery_note(table.assign(status="fully imaged")) is None
