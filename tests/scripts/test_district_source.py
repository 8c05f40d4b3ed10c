"""The build of the shipped district file (scripts/district_source.py): the GCJ-02 shift and a deterministic
output equal to the committed file."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from pgssl_core.demo.districts import DISTRICTS_PATH, load_beijing_districts
from scripts.district_source import build_beijing_districts, read_cnmaps_districts


def test_converted_outline_shifted_west_south_west() -> None:
    districts = load_beijing_districts()
    raw = read_cnmaps_districts().set_index("adcode")
    for adcode in (110101, 110108, 110119):
        gcj = raw.geometry.loc[adcode]
        wgs = districts.set_index("adcode").geometry.loc[adcode]
        dx_deg = wgs.centroid.x - gcj.centroid.x
        dy_deg = wgs.centroid.y - gcj.centroid.y
        east = dx_deg * 111_320 * np.cos(np.radians(gcj.centroid.y))
        north = dy_deg * 110_950
        assert -600 < east < -450 and -220 < north < -90, (adcode, east, north)
        # Whole outline within a few hundred metres of the unconverted one.
        hd = gpd.GeoSeries([gcj, wgs], crs=4326).to_crs(32650)
        assert hd.iloc[0].hausdorff_distance(hd.iloc[1]) < 800


def test_build_is_deterministic(tmp_path) -> None:
    a = build_beijing_districts(tmp_path / "a.geojson")
    b = build_beijing_districts(tmp_path / "b.geojson")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() == DISTRICTS_PATH.read_bytes()  # the committed file is up to date
