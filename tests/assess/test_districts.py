"""District aggregation against hand arithmetic, outside tiles, boundary files and errors."""

from __future__ import annotations

import math
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from pgssl_core.assess.boundaries import load_boundaries
from pgssl_core.assess.districts import STATUS_NONE, aggregate_districts, write_district_csv
from pgssl_core.errors import PgsslError

UTM = "EPSG:32650"
X, Y = 448_000.0, 4_419_000.0


@pytest.fixture
def two_districts():
    """A and B: 1 km x 1 km side by side; C: a third district far away with no imagery."""
    return gpd.GeoDataFrame({"name": ["A", "B", "C"]}, geometry=[
        box(X, Y, X + 1000, Y + 1000), box(X + 1000, Y, X + 2000, Y + 1000),
        box(X + 5000, Y, X + 6000, Y + 1000)], crs=UTM)


@pytest.fixture
def tiles():
    """tile1: 1000 m x 500 m straddling A and B; tile2: 200 m x 200 m outside every district."""
    return gpd.GeoDataFrame({"tile": ["tile1", "tile2"]}, geometry=[
        box(X + 500, Y + 500, X + 1500, Y + 1000), box(X + 3000, Y + 3000, X + 3200, Y + 3200)], crs=UTM)


@pytest.fixture
def buildings():
    return gpd.GeoDataFrame(geometry=[
        box(X + 600, Y + 600, X + 610, Y + 610),      # A, 100 m2
        box(X + 700, Y + 700, X + 715, Y + 720),      # A, 300 m2
        box(X + 1200, Y + 800, X + 1210, Y + 820),    # B, 200 m2
        box(X + 3050, Y + 3050, X + 3060, Y + 3060),  # in tile2, in no district
    ], crs=UTM)


def test_two_districts_match_hand_arithmetic(two_districts, tiles, buildings):
    report = aggregate_districts(two_districts, buildings, tiles)
    t = report.table.set_index("district")
    rel = 2e-3  # UTM 50N areas here differ from true (equal-area) areas by < 0.1%
    assert t.loc["A", "district_km2"] == pytest.approx(1.0, rel=rel)
    assert t.loc["A", "imaged_km2"] == pytest.approx(0.25, rel=rel)
    assert t.loc["B", "imaged_share"] == pytest.approx(0.25, rel=rel)
    assert t.loc["A", "building_count"] == 2 and t.loc["B", "building_count"] == 1
    assert t.loc["A", "footprint_m2"] == pytest.approx(400.0, rel=rel)
    assert t.loc["A", "coverage"] == pytest.approx(400.0 / 250_000.0, rel=rel)
    # PV: 400 m2 x 50% usable x 20% x 1 kW/m2 = 40 kWp; 200 m2 -> 20 kWp.
    assert t.loc["A", "capacity_mwp"] == pytest.approx(0.040, rel=rel)
    assert t.loc["B", "capacity_mwp"] == pytest.approx(0.020, rel=rel)
    assert t.loc["A", "co2_t"] == pytest.approx(t.loc["A", "generation_gwh"] * 1000 * 0.5703, rel=1e-9)
    assert t.loc["A", "status"] == "partly imaged"
    # C has no imagery: NaN with a status, never 0.
    assert t.loc["C", "status"] == STATUS_NONE
    assert math.isnan(t.loc["C", "building_count"]) and math.isnan(t.loc["C", "capacity_mwp"])
    assert t.loc["C", "imaged_km2"] == 0.0


def test_tile_outside_every_district_is_reported(two_districts, tiles, buildings):
    report = aggregate_districts(two_districts, buildings, tiles)
    assert list(report.outside["tile"]) == ["tile2"]
    assert report.outside["status"].iloc[0] == "outside every district"
    assert report.outside["outside_km2"].iloc[0] == pytest.approx(0.04, rel=2e-3)
    assert report.buildings_outside == 1


def test_no_overlap_is_a_clear_error(two_districts, buildings):
    far = gpd.GeoDataFrame({"tile": ["t"]}, geometry=[box(X + 9000, Y, X + 9100, Y + 100)], crs=UTM)
    with pytest.raises(PgsslError, match="none of the 1 tiles overlaps"):
        aggregate_districts(two_districts, buildings, far)


def test_boundary_errors(tmp_path, two_districts, buildings, tiles):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(PgsslError, match="cannot read boundary file bad.geojson"):
        load_boundaries(bad)
    with pytest.raises(PgsslError, match="not found"):
        load_boundaries(tmp_path / "missing.gpkg")
    with pytest.raises(PgsslError, match="no CRS"):
        aggregate_districts(two_districts.set_crs(None, allow_override=True), buildings, tiles)
    with pytest.raises(PgsslError, match="buildings has no CRS"):
        aggregate_districts(two_districts, buildings.set_crs(None, allow_override=True), tiles)


def test_zipped_shapefile_and_gpkg_and_csv(tmp_path, two_districts, buildings, tiles):
    two_districts.to_file(tmp_path / "d.shp")
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as z:
        for part in tmp_path.glob("d.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    two_districts.to_file(tmp_path / "d.gpkg")
    for source in (tmp_path / "d.zip", tmp_path / "d.gpkg"):
        report = aggregate_districts(source, buildings, tiles)
        assert list(report.table["district"]) == ["A", "B", "C"]
    out = write_district_csv(report, tmp_path / "out.csv")
    frame = pd.read_csv(out)
    assert {"capacity_mwp_low", "capacity_mwp_high", "status", "imaged_share"} <= set(frame.columns)


def test_buildings_only_marks_imagery_unknown(two_districts, buildings):
    report = aggregate_districts(two_districts, buildings, None)
    t = report.table.set_index("district")
    assert (t["status"] == "imaged extent unknown").all()
    assert t.loc["A", "building_count"] == 2 and math.isnan(t.loc["A", "coverage"])


def test_beijing_default_has_16_districts():
    d = load_boundaries("beijing")
    assert len(d) == 16 and "Haidian" in set(d["district"])


def test_shapefile_without_prj_is_a_clear_error(tmp_path, two_districts):
    two_districts.to_file(tmp_path / "d.shp")
    with zipfile.ZipFile(tmp_path / "noprj.zip", "w") as z:
        for part in tmp_path.glob("d.*"):
            if part.suffix not in (".prj", ".zip"):
                z.write(part, part.name)
    with pytest.raises(PgsslError, match="noprj.zip has no CRS"):
        load_boundaries(tmp_path / "noprj.zip")
