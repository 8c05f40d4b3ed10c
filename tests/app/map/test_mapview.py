"""The folium map: layers, legends, tooltips, offline by default; tile overlays in Web Mercator."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.map_overlays import tile_overlays
from app.mapview import DISTRICT_LAYER, MapData, build_map
from pgssl_core.assess import PVAssumptions
from pgssl_core.project.assessment import prepare_assessment
from pgssl_core.project.predict import read_layers, reference_footprints
from tests.project.conftest import make_tile


@pytest.fixture
def map_data(small_project, tmp_path) -> MapData:
    footprints, extents = read_layers(reference_footprints(small_project, tmp_path / "ref"))
    view = prepare_assessment(footprints, extents, "beijing", PVAssumptions(), cell_m=50.0)
    overlays, total = tile_overlays(small_project, max_tiles=2, max_px=32)
    return MapData(view.table, view.grid, footprints, overlays, total, "reference masks (ground truth)",
                   extents=extents, view_key="proj")


def test_map_has_every_layer_and_legend(map_data: MapData) -> None:
    html = build_map(map_data, "capacity_mwp").get_root().render()
    assert f"{DISTRICT_LAYER}: Rooftop PV capacity of the imaged part (MWp)" in html  # layer entry and legend
    assert "Building footprints (reference masks (ground truth), 4)" in html
    assert "Building density heatmap" in html and "Tile imagery (2 of 3 tiles)" in html
    assert "Dongcheng" in html and "Yanqing" in html  # every district has a polygon and a tooltip
    assert "no imagery" in html  # districts without tiles say so instead of showing 0
    assert "L.control.layers" in html
    assert "tile.openstreetmap.org" not in html  # offline: no basemap request


def test_basemap_is_optional(map_data: MapData) -> None:
    assert "tile.openstreetmap.org" in build_map(map_data, "coverage", basemap=True).get_root().render()


def test_overlays_are_placed_in_wgs84_and_transparent_where_no_data(small_project) -> None:
    overlays, total = tile_overlays(small_project, max_px=32)
    assert total == 3 and len(overlays) == 3
    (south, west), (north, east) = overlays[0].bounds
    assert 39.8 < south < north < 40.1 and 116.3 < west < east < 116.5  # central Beijing
    assert (north - south) * 111_000 == pytest.approx(32.0, rel=0.02)  # a 32 m tile

    half = make_tile(5)
    half.valid[:, :32] = False  # left half has no data
    tile_id = small_project.add_tile(half, "half.tif")
    overlay = next(o for o in tile_overlays(small_project, max_px=32)[0] if o.tile_id == tile_id)
    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(overlay.url.split(",", 1)[1]))).convert("RGBA"))
    assert rgba.shape == (32, 32, 4)
    assert (rgba[:, :14, 3] == 0).all() and (rgba[:, 18:, 3] == 255).all()


def test_map_needs_no_cdn(map_data: MapData) -> None:
    """Offline browsers cannot reach a CDN: every script and style sheet is inlined."""
    import re

    html = build_map(map_data, "generation_gwh").get_root().render()
    assert not re.findall(r'(?:src|href)="https?:', html)
    assert "data:text/javascript;base64," in html and "data:text/css;base64," in html


def test_map_without_districts_still_shows_buildings(map_data: MapData) -> None:
    map_data.districts = map_data.districts.iloc[:0]
    html = build_map(map_data, "coverage").get_root().render()
    assert DISTRICT_LAYER not in html and "Building footprints" in html


def test_map_opens_on_the_tiles_with_controls(map_data: MapData) -> None:
    """Issue 16, item 7: open on the data, zoom-to-tiles button, outline districts when zoomed in, legends
    bound to their layers, the view kept per project, the heatmap's zoom limit named."""
    m = build_map(map_data, "coverage")
    html = m.get_root().render()
    west, south, east, north = map_data.extents.to_crs(4326).total_bounds
    fit = next(child for child in m._children.values() if type(child).__name__ == "FitBounds")
    assert fit.bounds == [[pytest.approx(south), pytest.approx(west)], [pytest.approx(north), pytest.approx(east)]]
    assert "Zoom to my tiles" in html and '"pgssl-map-view:" + "proj"' in html
    assert "map.getZoom() >= 15" in html and "fillOpacity: zoomedIn ? 0" in html
    assert html.count("overlayadd overlayremove") == 2  # district and heatmap legends follow their layers
    assert "Imaged tiles (outlines, 3)" in html
    assert "up to zoom 16" in html
