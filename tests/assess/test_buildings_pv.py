"""Per-building PV: district of each roof, hand arithmetic, and district sums equal building sums."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from pgssl_core.assess.buildings_pv import BUILDING_COLUMNS, OUTSIDE, buildings_pv, largest_roofs
from pgssl_core.assess.districts import aggregate_districts
from pgssl_core.assess.pv import PVAssumptions

UTM = "EPSG:32650"
X, Y = 448_000.0, 4_419_000.0


@pytest.fixture
def districts():
    return gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[
        box(X, Y, X + 1000, Y + 1000), box(X + 1000, Y, X + 2000, Y + 1000)], crs=UTM)


@pytest.fixture
def buildings():
    rng = np.random.default_rng(3)
    boxes = []
    for _ in range(60):  # random roofs over both districts and a strip outside them
        x, y = rng.uniform(X + 10, X + 2400), rng.uniform(Y + 10, Y + 980)
        w, h = rng.uniform(5, 40, size=2)
        boxes.append(box(x, y, x + w, y + h))
    return gpd.GeoDataFrame(geometry=boxes, crs=UTM).to_crs(4326)  # WGS84, as the app stores them


def test_district_sums_equal_building_sums(districts, buildings):
    a = PVAssumptions().with_values(tilt_deg=25.0, usable_roof_share=0.6)
    table = aggregate_districts(districts, buildings, None, a).table.set_index("district")
    per = buildings_pv(buildings, districts, a)
    assert list(per.columns[:-1]) == BUILDING_COLUMNS and per.crs == buildings.crs
    assert set(per["district"]) == {"A", "B", OUTSIDE}
    sums = per[per["district"] != OUTSIDE].groupby("district")
    for suffix in ("", "_low", "_high"):
        for building_col, district_col, factor in (("kwp", "capacity_mwp", 1e3), ("kwh_yr", "generation_gwh", 1e6),
                                                   ("co2_t_yr", "co2_t", 1.0), ("usable_m2", "usable_roof_m2", 1.0)):
            got = sums[building_col + suffix].sum()
            for name in ("A", "B"):
                assert got[name] == pytest.approx(table.loc[name, district_col + suffix] * factor, rel=1e-9)
    counts = sums.size()
    assert counts["A"] == table.loc["A", "building_count"] and counts["B"] == table.loc["B", "building_count"]
    assert sums["roof_area_m2"].sum()["A"] == pytest.approx(table.loc["A", "footprint_m2"], rel=1e-12)


def test_one_roof_matches_hand_arithmetic(districts):
    roof = gpd.GeoDataFrame(geometry=[box(X + 100, Y + 100, X + 120, Y + 110)], crs=UTM)  # 200 m2 in A
    row = buildings_pv(roof, districts).iloc[0]
    assert row["district"] == "A" and row["building_id"] == 1
    assert row["roof_area_m2"] == pytest.approx(200.0, rel=2e-3)
    # 200 m2 x 50% usable x 20% efficiency x 1 kW/m2 = 20 kWp; low 30% x 18%, high 70% x 22%
    assert row["kwp"] == pytest.approx(20.0, rel=2e-3)
    assert row["kwp_low"] == pytest.approx(200 * 0.3 * 0.18, rel=2e-3)
    assert row["kwp_high"] == pytest.approx(200 * 0.7 * 0.22, rel=2e-3)
    assert row["co2_t_yr"] == pytest.approx(row["kwh_yr"] / 1000 * 0.5703, rel=1e-9)
    assert row["kwh_yr_low"] < row["kwh_yr"] < row["kwh_yr_high"]


def test_largest_roofs_sorted_without_geometry(districts, buildings):
    top = largest_roofs(buildings_pv(buildings, districts), n=5)
    assert len(top) == 5 and "geometry" not in top.columns
    assert list(top["roof_area_m2"]) == sorted(top["roof_area_m2"], reverse=True)


def test_no_buildings_gives_empty_table(districts):
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=UTM), crs=UTM)
    out = buildings_pv(empty, districts)
    assert len(out) == 0 and "kwp_high" in out.columns


def test_cli_buildings_out_and_corrected_district_columns(tmp_path, capsys):
    import pandas as pd

    from pgssl_core.assess.model_error import TileConfusion, area_correction, save_correction
    from pgssl_core.cli import main

    # Three buildings in central Beijing (lon/lat), two in Dongcheng, one in Xicheng.
    fp = gpd.GeoDataFrame(geometry=[box(116.40, 39.92, 116.4002, 39.9202), box(116.41, 39.92, 116.4103, 39.9203),
                                    box(116.36, 39.91, 116.3602, 39.9102)], crs=4326)
    fp.to_file(tmp_path / "b.gpkg")
    base = ["assess", "--buildings", str(tmp_path / "b.gpkg"), "--out", str(tmp_path / "d.csv")]
    assert main([*base, "--buildings-out", str(tmp_path / "bl.gpkg")]) == 0
    table = pd.read_csv(tmp_path / "d.csv")
    assert {"footprint_m2_corrected", "footprint_m2_corrected_low", "capacity_mwp_corrected_high"} <= set(table)
    assert (table["model_error"] == "model error unknown").all()
    assert table["footprint_m2_corrected_low"].isna().all()
    per = gpd.read_file(tmp_path / "bl.gpkg", layer="buildings")
    assert len(per) == 3
    for part in ("kwp", "kwh", "co2", "district"):
        assert any(part in c for c in per.columns), part
    sums = per.groupby("district")["kwp"].sum() / 1e3
    for name, mwp in sums.items():
        assert table.set_index("district").loc[name, "capacity_mwp"] == pytest.approx(mwp, rel=1e-5)

    tiles = [TileConfusion("a", 80, 20, 40), TileConfusion("b", 50, 10, 10)]
    save_correction(tmp_path / "me.json", area_correction(tiles), tiles)
    assert main([*base, "--model-error", str(tmp_path / "me.json"), "--buildings-out", str(tmp_path / "bl.csv")]) == 0
    table = pd.read_csv(tmp_path / "d.csv").query("footprint_m2 > 0")
    assert table["footprint_m2_corrected"].to_numpy() == pytest.approx(table["footprint_m2"].to_numpy() * 1.125,
                                                                          rel=1e-5)
    assert (table["footprint_m2_corrected_low"] < table["footprint_m2_corrected_high"]).all()
    csv = pd.read_csv(tmp_path / "bl.csv")
    assert {"kwp_low", "kwh_yr", "co2_t_yr_high", "district", "lon", "lat"} <= set(csv.columns)

    (tmp_path / "bad.json").write_text("{}")
    capsys.readouterr()
    assert main([*base, "--model-error", str(tmp_path / "bad.json")]) == 2
    assert "is not a model-error file" in capsys.readouterr().err
