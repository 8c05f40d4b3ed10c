"""The tile-service panel of the "Project & upload" page (AppTest) and the attribution on the map."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import folium
import pytest
from streamlit.testing.v1 import AppTest

from app.map_overlays import tile_overlays
from app.mapview import imagery_layer
from app.projects import create_project
from pgssl_core.catalog import Project
from pgssl_core.xyz.fetch import FetchSettings, TileFetcher
from pgssl_core.xyz.grid import bbox_tiles
from pgssl_core.xyz.importer import import_xyz
from tests.app.main_script import MAIN
from tests.app.map.drawing import Draws

ATTRIBUTION = "Imagery © Test Tiles <contributors>"


@pytest.fixture()
def tiles_project(demo_projects_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project next to the default ones, used by the app through ``PGSSL_PROJECTS_DIR``."""
    root = tmp_path / "projects"
    shutil.copytree(demo_projects_template, root)
    monkeypatch.setenv("PGSSL_PROJECTS_DIR", str(root))
    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(tmp_path / "train.lock"))
    monkeypatch.setenv("PGSSL_CACHE_DIR", str(tmp_path / "cache"))
    return root / create_project(root, "Tiles").slug


def _page(project_dir: Path, url: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["project"] = project_dir.name
    at.run()
    at.text_input(key="xyz_url").input(url)
    at.text_input(key="xyz_attribution").input(ATTRIBUTION)
    at.radio(key="xyz_area").set_value("Bounding box")
    return at.run()


def test_panel_downloads_the_tiles_into_the_project(tile_server, tiles_project: Path) -> None:
    at = _page(tiles_project, tile_server.url("good"))
    assert not at.exception, at.exception
    count = len(bbox_tiles(116.39, 39.905, 116.393, 39.9065, 18).tiles)
    button = at.button(key="xyz_go")
    assert button.label == f"Download {count} tiles" and not button.disabled
    button.click().run()
    assert not at.exception, at.exception
    assert any(f"{count} tiles added" in s.value for s in at.success), [s.value for s in at.success]
    with Project.open(tiles_project) as project:
        assert len(project.tiles()) == count
        assert {r.source["attribution"] for r in project.tiles()} == {ATTRIBUTION}


def test_panel_reports_a_bad_service_and_adds_nothing(tile_server, tiles_project: Path) -> None:
    at = _page(tiles_project, tile_server.url("html"))
    at.button(key="xyz_go").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("web page instead of an image" in e and "Nothing was added" in e for e in errors), errors
    with Project.open(tiles_project) as project:
        assert project.tiles() == []


def test_panel_asks_for_confirmation_above_the_cap(tile_server, tiles_project: Path) -> None:
    at = _page(tiles_project, tile_server.url("good"))
    at.number_input(key="xyz_zoom").set_value(20)
    at.number_input(key="xyz_East").set_value(116.41).run()
    assert at.button(key="xyz_go").disabled
    at.checkbox(key="xyz_confirm").check().run()
    assert not at.button(key="xyz_go").disabled


def test_attribution_is_shown_on_the_map(tile_server, tmp_path: Path) -> None:
    with Project.create(tmp_path / "p", "p") as project:
        plan = bbox_tiles(116.39, 39.905, 116.391, 39.906, 18)
        with TileFetcher(tile_server.url("good"), tmp_path / "cache", FetchSettings(rate_per_s=1000)) as fetcher:
            import_xyz(project, plan, fetcher, ATTRIBUTION)
        overlays, total = tile_overlays(project)
    assert total == len(plan.tiles) and {o.attribution for o in overlays} == {ATTRIBUTION}
    m = folium.Map(tiles=None)
    imagery_layer(overlays, total).add_to(m)
    html = m.get_root().render()
    # the overlays' option, escaped for Leaflet (which inserts attributions as HTML)
    credits = {json.loads(s) for s in re.findall(r'"attribution": ("(?:[^"\\]|\\.)*")', html)}
    assert credits == {"Imagery © Test Tiles &lt;contributors&gt;"}
    assert "<contributors>" not in html


def test_a_drawn_rectangle_fills_the_area_which_stays_editable(tile_server, tiles_project: Path) -> None:
    from app.map_interactive import STAND_IN_KEY

    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["project"] = tiles_project.name
    draws = Draws(116.4001, 39.9101, 116.4032, 39.9122)
    at.session_state[STAND_IN_KEY] = draws
    at.run()
    at.text_input(key="xyz_url").input(tile_server.url("good"))
    at.text_input(key="xyz_attribution").input(ATTRIBUTION)
    at.radio(key="xyz_area").set_value("Bounding box").run()
    assert not at.exception, at.exception
    assert draws.asked and all(asked == ["last_active_drawing"] for asked in draws.asked)  # reruns on drawings only
    fields = [at.number_input(key=f"xyz_{name}").value for name in ("West", "South", "East", "North")]
    assert fields == pytest.approx([116.4001, 39.9101, 116.4032, 39.9122], abs=1e-9)
    count = len(bbox_tiles(*fields, 18).tiles)
    assert at.button(key="xyz_go").label == f"Download {count} tiles"
    at.number_input(key="xyz_East").set_value(116.41).run()  # still the user's to edit: the drawing is not re-applied
    assert at.number_input(key="xyz_East").value == pytest.approx(116.41)
    edited = len(bbox_tiles(fields[0], fields[1], 116.41, fields[3], 18).tiles)
    assert at.button(key="xyz_go").label == f"Download {edited} tiles"


def test_the_area_starts_around_the_projects_tiles(tile_server, tiles_project: Path) -> None:
    """A project with georeferenced tiles opens the area there, not in Beijing (DEFAULT_AREA)."""
    import numpy as np
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    from pgssl_core.project.predict_area import tiles_bbox
    from pgssl_core.tiles import Tile, TileMeta

    meta = TileMeta(64, 64, 3, "uint8", "GTiff", None, "sp.tif")
    tile = Tile(np.full((64, 64, 3), 90, np.uint8), np.ones((64, 64), bool),
                from_origin(333_000.0, 7_395_000.0, 0.5, 0.5), CRS.from_epsg(31983), meta)  # São Paulo, UTM 23S
    with Project.open(tiles_project) as project:
        project.add_tile(tile, "sp.tif")
        expected = tiles_bbox(project.tiles())
    assert expected is not None and -47 < expected[0] < -46
    at = _page(tiles_project, tile_server.url("good"))
    assert not at.exception, at.exception
    fields = [at.number_input(key=f"xyz_{name}").value for name in ("West", "South", "East", "North")]
    assert fields == pytest.approx(list(expected), abs=1e-6)
