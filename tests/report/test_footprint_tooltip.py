"""A footprint's map tooltip shows its per-building PV figures when the footprints carry them."""

from __future__ import annotations

import folium
import geopandas as gpd
from shapely.geometry import box

from app.mapview import footprint_layer
from pgssl_core.assess.buildings_pv import buildings_pv


def _html(layer) -> str:
    m = folium.Map(location=[39.92, 116.40], zoom_start=15, tiles=None)
    layer.add_to(m)
    return m.get_root().render()


def test_tooltip_has_pv_only_when_given():
    fp = gpd.GeoDataFrame({"area_m2": [300.0]}, geometry=[box(116.40, 39.92, 116.4002, 39.9202)], crs=4326)
    plain = _html(footprint_layer(fp, "test"))
    assert "PV capacity (kWp)" not in plain
    pv = buildings_pv(fp, "beijing")
    enriched = fp.assign(**{c: pv[c].to_numpy() for c in ("district", "kwp", "kwh_yr", "co2_t_yr")})
    html = _html(footprint_layer(enriched, "test"))
    assert "PV capacity (kWp)" in html and "Generation (kWh/yr)" in html and "Dongcheng" in html
    assert f"{round(float(pv['kwp'].iloc[0]), 1)}" in html
