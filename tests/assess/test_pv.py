"""PV chain against hand arithmetic for one roof."""

from __future__ import annotations

from pathlib import Path

import pvlib
import pytest

from pgssl_core.assess.pv import (
    PVAssumptions,
    annual_poa_kwh_m2,
    clear_sky_annual_ghi_kwh_m2,
    pv_potential,
    site_columns,
)
from pgssl_core.errors import PgsslError

LAT, LON = 39.9, 116.4  # central Beijing


def test_flat_plane_receives_the_configured_annual_ghi():
    # A horizontal plane sees exactly the horizontal irradiation the model was scaled to.
    assert annual_poa_kwh_m2(LAT, LON, 0.0, 180.0, 1450.0) == pytest.approx(1450.0, rel=2e-3)


def test_tilted_south_plane_gains_a_plausible_amount():
    flat = annual_poa_kwh_m2(LAT, LON, 0.0, 180.0, 1450.0)
    tilted = annual_poa_kwh_m2(LAT, LON, 30.0, 180.0, 1450.0)
    north = annual_poa_kwh_m2(LAT, LON, 30.0, 0.0, 1450.0)
    assert 1.03 * flat < tilted < 1.25 * flat  # south tilt gains at 40 N, but not absurdly
    assert north < flat


def test_one_roof_matches_hand_calculation():
    a = PVAssumptions().with_values(tilt_deg=0.0, annual_ghi_kwh_m2=1450.0)
    r = pv_potential(100.0, LAT, LON, a)
    # 100 m2 roof, 50% usable, 20% efficient modules at 1 kW/m2: 10 kWp.
    assert r.usable_roof_m2.value == pytest.approx(50.0)
    assert r.capacity_mwp.value == pytest.approx(0.010)
    # 10 kWp x 1450 kWh/m2 x (1 - 0.14) x 0.96 = 11,971.2 kWh
    assert r.generation_gwh.value == pytest.approx(11_971.2e-6, rel=2e-3)
    # 11.9712 MWh x 0.5703 t/MWh = 6.8272 t
    assert r.co2_t.value == pytest.approx(6.8272, rel=2e-3)
    # Low case: 30% usable, 18% efficient (5.4 kWp), 20% losses, 95% inverter, 0.54 t/MWh, and the
    # user's GHI with the clear-sky index's relative range: 1450 x 0.53 / 0.73 = 1052.7 kWh/m2 flat.
    ghi_low = 1450 * 0.53 / 0.73
    assert r.capacity_mwp.low == pytest.approx(0.0054)
    assert r.generation_gwh.low == pytest.approx(5.4 * ghi_low * 0.80 * 0.95 * 1e-6, rel=2e-3)
    assert r.co2_t.low == pytest.approx(5.4 * ghi_low * 0.80 * 0.95 / 1000 * 0.54, rel=2e-3)
    assert r.generation_gwh.low < r.generation_gwh.value < r.generation_gwh.high


def test_every_assumption_is_documented():
    table = PVAssumptions().table()
    assert {"annual_ghi_kwh_m2", "usable_roof_share", "module_efficiency", "system_losses", "tilt_deg",
            "emission_factor_t_mwh"} <= set(table["name"])
    assert (table["source"].str.len() > 10).all()
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()
    assert "ESTIMATE" in table.set_index("name").loc["annual_ghi_kwh_m2", "source"]


# ---- issue 11, item 5: PV defaults follow the site ----------------------------------------------

SYDNEY_LAT, SYDNEY_LON = -33.9, 151.2  # a district at about 34 S


def _yield_kwh_per_kwp(r) -> float:
    return r.generation_gwh.value * 1e6 / (r.capacity_mwp.value * 1e3)


def test_southern_site_faces_north_by_default():
    # The example: at 34 S the old default faced azimuth 180 (the pole): 21% less yield.
    default = pv_potential(100.0, SYDNEY_LAT, SYDNEY_LON)
    facing_north = pv_potential(100.0, SYDNEY_LAT, SYDNEY_LON, PVAssumptions().with_values(azimuth_deg=0.0))
    facing_pole = pv_potential(100.0, SYDNEY_LAT, SYDNEY_LON, PVAssumptions().with_values(azimuth_deg=180.0))
    assert _yield_kwh_per_kwp(default) == pytest.approx(_yield_kwh_per_kwp(facing_north), rel=1e-9)
    assert _yield_kwh_per_kwp(default) > 1.15 * _yield_kwh_per_kwp(facing_pole)
    columns = site_columns(SYDNEY_LAT, SYDNEY_LON)
    assert columns["pv_azimuth_deg"] == 0.0 and columns["pv_tilt_deg"] == pytest.approx(33.9)


def test_tilt_follows_latitude_unless_set_and_says_so():
    for lat in (10.0, 39.9, 60.0, -45.0):
        assert site_columns(lat, 20.0)["pv_tilt_deg"] == pytest.approx(abs(lat))
    user = site_columns(-45.0, 20.0, PVAssumptions().with_values(tilt_deg=15.0))
    assert user["pv_tilt_deg"] == 15.0 and "tilt: set by the user" in user["pv_basis"]
    assert "tilt: site default" in site_columns(-45.0, 20.0)["pv_basis"]


def test_site_ghi_is_the_sites_own_clear_sky_estimate_not_beijings():
    beijing = site_columns(LAT, LON)["pv_annual_ghi_kwh_m2"]
    assert 1400 <= beijing <= 1600  # published range for Beijing
    cairo = site_columns(30.0, 31.2)
    # rounded to a whole kWh/m2, so the slider shows exactly the value used
    assert cairo["pv_annual_ghi_kwh_m2"] == round(clear_sky_annual_ghi_kwh_m2(30.0, 31.2) * 0.73)
    assert "ESTIMATE: site clear-sky GHI" in cairo["pv_basis"]
    assert site_columns(64.1, -21.9)["pv_annual_ghi_kwh_m2"] < 0.75 * beijing  # Reykjavik gets far less


def test_user_tmy_file_is_used_as_the_site_irradiation():
    tmy = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"  # Greensboro NC, bundled with pvlib
    data, meta = pvlib.iotools.read_tmy3(tmy, map_variables=True)
    a = PVAssumptions().with_tmy(tmy)
    columns = site_columns(meta["latitude"], meta["longitude"], a)
    assert columns["pv_annual_ghi_kwh_m2"] == pytest.approx(data["ghi"].sum() / 1000.0)
    assert "TMY file 723170TYA.CSV" in columns["pv_basis"] and "WARNING" not in columns["pv_basis"]
    r = pv_potential(100.0, meta["latitude"], meta["longitude"], a)
    flat = pv_potential(100.0, meta["latitude"], meta["longitude"], a.with_values(tilt_deg=0.0))
    # a flat plane gets the file's own annual GHI; the latitude tilt gets more
    assert _yield_kwh_per_kwp(flat) == pytest.approx(data["ghi"].sum() / 1000.0 * 0.86 * 0.96, rel=2e-3)
    assert _yield_kwh_per_kwp(r) > _yield_kwh_per_kwp(flat)
    far = site_columns(LAT, LON, a)
    assert "WARNING: station" in far["pv_basis"]


def test_unreadable_tmy_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "weather.csv"
    bad.write_text("not,a,tmy\n1,2,3\n")
    with pytest.raises(PgsslError, match=r"^weather\.csv: not a TMY3, EPW or PVGIS typical-year file"):
        PVAssumptions().with_tmy(bad)


def test_district_table_and_csv_say_what_each_figure_rests_on(tmp_path):
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from pgssl_core.assess.districts import aggregate_districts, write_district_csv

    district = gpd.GeoDataFrame({"name": ["Sydney block"]}, geometry=[box(151.19, -33.91, 151.21, -33.89)], crs=4326)
    buildings = gpd.GeoDataFrame(geometry=[box(151.199, -33.901, 151.2, -33.9)], crs=4326)
    imaged = gpd.GeoDataFrame({"tile": ["t"]}, geometry=[box(151.195, -33.905, 151.205, -33.895)], crs=4326)
    report = aggregate_districts(district, buildings, imaged)
    write_district_csv(report, tmp_path / "d.csv")
    row = pd.read_csv(tmp_path / "d.csv").iloc[0]
    assert row["pv_azimuth_deg"] == 0.0 and row["pv_tilt_deg"] == pytest.approx(33.9, abs=0.1)
    assert "ESTIMATE: site clear-sky GHI" in row["pv_basis"] and "facing the equator" in row["pv_basis"]


def test_untouched_widgets_keep_following_the_site():
    a = PVAssumptions()
    same = a.with_changed(tilt_deg=a.tilt_deg.value, annual_ghi_kwh_m2=a.annual_ghi_kwh_m2.value, system_losses=0.2)
    assert same.site_defaults == a.site_defaults and same.system_losses.value == 0.2
    assert site_columns(-33.9, 151.2, same)["pv_tilt_deg"] == pytest.approx(33.9)
    assert "tilt_deg" not in a.with_changed(tilt_deg=12.0).site_defaults
