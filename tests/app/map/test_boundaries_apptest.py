"""Any city (issue 16, item 8): outside the shipped Beijing districts the Map page shows the imaged area as
one row with its downloads; an uploaded boundary file (any CRS, any name column) splits it by district."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from app import boundaries
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.tiles import Tile, TileMeta
from tests.app.main_script import MAIN

UTM16 = CRS.from_epsg(32616)
ORIGIN = (741_000.0, 3_738_000.0)  # about 33.75 N 84.39 W: Atlanta
SIZE = 64  # px, 0.5 m


def _atlanta(root: Path, speck: bool = False) -> Path:
    with Project.create(root / "atlanta", "Atlanta") as project:
        for i in range(2):
            image = np.random.default_rng(i).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
            mask = np.zeros((SIZE, SIZE), np.uint8)
            mask[10:40, 10:30] = 1  # a 150 m² roof
            if speck:
                mask[50:56, 50:56] = 1  # a 9 m² speck: above the library's 4 m², below the app's 10 m²
            tile = Tile(image, np.ones((SIZE, SIZE), bool), from_origin(ORIGIN[0] + 300.0 * i, ORIGIN[1], 0.5, 0.5),
                        UTM16, TileMeta(SIZE, SIZE, 3, "uint8", "GTiff", None, f"a{i}.tif"))
            project.add_tile(tile, f"a{i}.tif", reference_mask=mask)
    return root / "atlanta"


def _map_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=240)
    at.query_params["project"] = "atlanta"
    at.run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    return at


def _two_districts_geojson() -> bytes:
    """Two halves around the tiles, in Web Mercator, named in a column the app cannot guess."""
    tiles = gpd.GeoSeries([box(ORIGIN[0] - 100, ORIGIN[1] - 200, ORIGIN[0] + 150, ORIGIN[1] + 100),
                           box(ORIGIN[0] + 150, ORIGIN[1] - 200, ORIGIN[0] + 500, ORIGIN[1] + 100)], crs=UTM16)
    gdf = gpd.GeoDataFrame({"code": [1, 2], "Quartier": ["West End", "Old Fourth Ward"]}, geometry=tiles.to_crs(3857))
    return gdf.to_json().encode()


def test_outside_beijing_shows_the_imaged_area_as_one_row(projects_env: Path) -> None:
    _atlanta(projects_env)
    at = _map_page()
    table = at.dataframe[0].value
    assert table["District"].tolist() == ["Imaged area"] and table["Buildings"].iloc[0] == 2
    assert table["PV MWp"].iloc[0] > 0
    assert any("imaged area as one row" in i.value for i in at.info)
    assert "Districts (CSV)" in [b.label for b in at.get("download_button")]


def test_uploaded_boundaries_split_the_table(projects_env: Path) -> None:
    folder = _atlanta(projects_env)
    with Project.open(folder) as project:
        path, gdf = boundaries.store_upload(project, "quartiers.geojson", _two_districts_geojson())
        assert path.parent == folder / "boundaries" and boundaries.name_columns(gdf)[0] == "Quartier"
        again, _ = boundaries.store_upload(project, "quartiers.geojson", _two_districts_geojson())
        assert again == path  # a rerun with the same upload stores nothing new
        boundaries.use_boundaries(project, path, "Quartier", "quartiers.geojson")
    at = _map_page()
    table = at.dataframe[0].value
    assert sorted(table["District"]) == ["Old Fourth Ward", "West End"]
    assert table["Buildings"].sum() == 2
    assert not any("imaged area as one row" in i.value for i in at.info)


def test_bad_boundary_file_is_refused_in_one_line(projects_env: Path) -> None:
    folder = _atlanta(projects_env)
    with Project.open(folder) as project:
        with pytest.raises(PgsslError, match="cannot read boundary file"):
            boundaries.store_upload(project, "broken.geojson", b"{not json")
        no_polygons = json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]})
        with pytest.raises(PgsslError, match="no polygon"):
            boundaries.store_upload(project, "points.geojson", no_polygons.encode())
        assert not list((folder / "boundaries").iterdir())  # refused files are not kept
        assert boundaries.project_boundaries(project).file is None


def test_smallest_building_slider_leaves_specks_out(projects_env: Path) -> None:
    """Issue 16, item 11: a minimum footprint area in the app (the default leaves out specks)."""
    _atlanta(projects_env, speck=True)
    at = _map_page()
    assert at.sidebar.slider(key="map_min_area").value == 10
    assert at.dataframe[0].value["Buildings"].iloc[0] == 2
    at.sidebar.slider(key="map_min_area").set_value(0).run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["Buildings"].iloc[0] == 4
