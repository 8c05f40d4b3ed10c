"""The shipped district file: 16 districts, WGS84, areas and size (its build: tests/scripts)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from pgssl_core.demo.districts import DISTRICT_NAMES, DISTRICTS_PATH, load_beijing_districts
from pgssl_core.errors import PgsslError

EXPECTED_ADCODES = [110101, 110102, 110105, 110106, 110107, 110108, 110109, 110111,
                    110112, 110113, 110114, 110115, 110116, 110117, 110118, 110119]  # fmt: skip


def test_sixteen_districts_with_names(districts: gpd.GeoDataFrame) -> None:
    assert list(districts.columns) == ["adcode", "name_zh", "name_pinyin", "geometry"]
    assert districts["adcode"].tolist() == EXPECTED_ADCODES  # 110103/110104 merged in 2010
    assert districts["adcode"].dtype.kind == "i"
    row = districts.set_index("adcode").loc[110101]
    assert (row.name_zh, row.name_pinyin) == ("东城区", "Dongcheng")
    assert districts["name_pinyin"].is_unique and districts["name_zh"].str.endswith("区").all()


def test_wgs84_valid_and_in_beijing(districts: gpd.GeoDataFrame) -> None:
    assert districts.crs.to_epsg() == 4326
    assert districts.is_valid.all()
    minx, miny, maxx, maxy = districts.total_bounds
    assert 115.3 < minx < maxx < 117.6 and 39.4 < miny < maxy < 41.1


def test_area_sum_matches_official(districts: gpd.GeoDataFrame) -> None:
    area_km2 = districts.to_crs(6933).area / 1e6  # equal-area CRS
    assert area_km2.sum() == pytest.approx(16_410, rel=0.02)
    areas = dict(zip(districts["name_pinyin"], area_km2, strict=True))
    assert areas["Huairou"] > areas["Chaoyang"] > areas["Dongcheng"]
    assert 35 < areas["Dongcheng"] < 50  # official 41.8 km2


def test_neighbours_share_borders(districts: gpd.GeoDataFrame) -> None:
    # Coverage simplification keeps shared borders: no overlaps between districts.
    utm = districts.to_crs(32650)
    assert shapely.coverage_is_valid(np.asarray(utm.geometry.values))
    assert utm.geometry.iloc[0].touches(utm.geometry.iloc[1])  # Dongcheng / Xicheng


def test_file_small_enough() -> None:
    assert DISTRICTS_PATH.stat().st_size < 400_000


def test_names_table_covers_data() -> None:
    assert sorted(DISTRICT_NAMES) == EXPECTED_ADCODES


def test_missing_file_is_one_line_error(tmp_path) -> None:
    with pytest.raises(PgsslError, match="build_districts.py") as info:
        load_beijing_districts(tmp_path / "nope.geojson")
    assert "\n" not in str(info.value)
