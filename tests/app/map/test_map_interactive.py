"""The Map page's interactive map (app/map_interactive.py): click -> figures lookup, the drawn rectangle, and
the page with st_folium stood in for (AppTest cannot click a custom component)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from app.map_interactive import STAND_IN_KEY, drawn_bbox, pick_at
from tests.app.main_script import MAIN


def _tables() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    # one 20 x 20 m roof in a UTM zone (metres), one district around it in degrees
    roof = shapely.box(448_000, 4_417_000, 448_020, 4_417_020)
    buildings = gpd.GeoDataFrame({"building_id": [7], "district": ["East"], "roof_area_m2": [400.0],
                                  "kwp": [30.0], "kwp_low": [20.0], "kwp_high": [40.0], "kwh_yr": [36_000.0],
                                  "kwh_yr_low": [25_000.0], "kwh_yr_high": [50_000.0], "co2_t_yr": [20.5],
                                  "co2_t_yr_low": [14.0], "co2_t_yr_high": [28.0]}, geometry=[roof], crs=32650)
    centre = buildings.geometry.to_crs(4326).iloc[0].centroid
    districts = gpd.GeoDataFrame({"district": ["East"], "footprint_m2": [12_000.0], "capacity_mwp": [0.9],
                                  "capacity_mwp_low": [0.6], "capacity_mwp_high": [1.2], "generation_gwh": [1.1],
                                  "generation_gwh_low": [0.8], "generation_gwh_high": [1.5], "co2_t": [600.0],
                                  "co2_t_low": [400.0], "co2_t_high": [800.0]},
                                 geometry=[centre.buffer(0.01)], crs=4326)
    return buildings, districts


def test_click_on_a_roof_gives_its_figures_with_ranges() -> None:
    buildings, districts = _tables()
    centre = buildings.geometry.to_crs(4326).iloc[0].centroid
    picked = pick_at(centre.y, centre.x, buildings, districts)
    assert picked is not None and picked.kind == "building" and picked.name == "Building 7 in East"
    rows = dict(picked.rows)
    assert rows["Roof area"] == "400.0 m²"
    assert rows["PV capacity"] == "30.0 kWp (20.0–40.0)"
    assert rows["Generation"] == "36,000 kWh/yr (25,000–50,000)"
    assert rows["CO₂ avoided"] == "20.50 t/yr (14.00–28.00)"


def test_click_beside_the_roof_gives_the_district_and_outside_nothing() -> None:
    buildings, districts = _tables()
    centre = buildings.geometry.to_crs(4326).iloc[0].centroid
    picked = pick_at(centre.y + 0.002, centre.x, buildings, districts)  # ~220 m north: no roof there
    assert picked is not None and picked.kind == "district" and picked.name == "District East"
    rows = dict(picked.rows)
    assert rows["PV capacity"] == "900 kWp (600–1,200)"
    assert rows["Generation"] == "1,100,000 kWh/yr (800,000–1,500,000)"
    assert pick_at(centre.y + 0.5, centre.x, buildings, districts) is None
    assert pick_at(centre.y, centre.x, None, None) is None


def test_drawn_rectangle_gives_its_bbox() -> None:
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(116.39, 39.905, 116.393, 39.9065))}
    assert drawn_bbox({"last_active_drawing": feature}) == pytest.approx((116.39, 39.905, 116.393, 39.9065))
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.39, 39.9]}}
    assert drawn_bbox({"last_active_drawing": point}) is None  # a click without a drag has no area
    assert drawn_bbox({}) is None and drawn_bbox(None) is None


def _tree(element) -> list[tuple[str, list[str]]]:
    out, stack = [], [element]
    while stack:
        e = stack.pop()
        out.append((e._id, list(e._children)))
        stack.extend(e._children.values())
    return out


def test_rerun_gives_st_folium_the_same_component(monkeypatch: pytest.MonkeyPatch) -> None:
    # st_folium renames the elements it renders and rendering adds children; left so, the second rerun's
    # script (and the component key hashed from it) differs from the first: the browser drops the map and
    # the click that caused the rerun (seen in Chromium: the district click showed nothing)
    import folium
    import streamlit_folium

    from app.map_interactive import CLICK_EVENTS, folium_map

    keys: list[str] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: keys.append(kwargs["key"]))
    m = folium.Map(location=[39.9, 116.4], zoom_start=12, tiles=None)
    group = folium.FeatureGroup(name="Imagery")
    folium.raster_layers.ImageOverlay("data:image/png;base64,", [[39.9, 116.4], [39.91, 116.41]]).add_to(group)
    group.add_to(m)
    roofs = folium.FeatureGroup(name="Roofs by PV")
    folium.GeoJson(shapely.geometry.mapping(shapely.box(116.40, 39.90, 116.401, 39.901))).add_to(roofs)
    before = _tree(m.get_root()), _tree(roofs)
    for _ in range(3):
        folium_map(m, "map", CLICK_EVENTS, 400, [roofs], folium.LayerControl())
    assert len(keys) == 3 and len(set(keys)) == 1
    assert (_tree(m.get_root()), _tree(roofs)) == before


def test_map_page_click_shows_figures_and_slider_keeps_the_map(empty_projects_env: Path) -> None:
    calls: list[dict] = []
    click: dict = {}

    def stand_in(**kwargs):
        calls.append(kwargs)
        return {"last_object_clicked": click or None}

    at = AppTest.from_file(MAIN, default_timeout=240).run()
    at.session_state[STAND_IN_KEY] = stand_in
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    assert calls[-1]["returned_objects"] == ["last_object_clicked"]  # pans and zooms rerun nothing
    groups = calls[-1]["feature_groups"]
    assert len(groups) == 1 and groups[0].layer_name.startswith("Roofs by PV")
    # click the largest roof: its figures appear in the page
    from pgssl_core.project.predict import load_project_maps, read_layers

    footprints, _ = read_layers(load_project_maps(empty_projects_env / "beijing-demo" / "maps" / "reference"))
    big = footprints.loc[footprints["area_m2"].idxmax()].geometry
    point = gpd.GeoSeries([big.representative_point()], crs=footprints.crs).to_crs(4326).iloc[0]
    click.update(lat=point.y, lng=point.x)
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**Building " in shown and "kWp (" in shown and "kWh/yr (" in shown and "t/yr (" in shown
    kwp = float(shown.split("PV capacity: **")[1].split(" kWp")[0].replace(",", ""))
    base, roofs = calls[-1]["fig"], calls[-1]["feature_groups"][0]
    # a PV slider move changes the figures and the roof layer, not the base map (the browser keeps it)
    share = at.sidebar.slider(key="pv_share")
    share.set_value(round(share.value + 0.2, 2)).run()
    assert not at.exception, at.exception
    assert calls[-1]["fig"] is base and calls[-1]["feature_groups"][0] is not roofs
    moved = " ".join(m.value for m in at.markdown)
    assert float(moved.split("PV capacity: **")[1].split(" kWp")[0].replace(",", "")) > kwp * 1.2
    assert np.isfinite(kwp)
