"""write_vector: GeoJSON's "name" member is the output's stem, not the temporary file's (found by a fresh-eyes QA
run: ``--polygons out.geojson`` held ``"name": ".out.k3j2x.geojson"``-like names)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from pgssl_core.assess.vector_io import write_vector


@pytest.mark.parametrize("name", ["footprints.geojson", "Dongcheng buildings.json"])
def test_geojson_name_is_the_output_stem(tmp_path: Path, name: str) -> None:
    gdf = gpd.GeoDataFrame({"area_m2": [12.5]}, geometry=[shapely.box(116.39, 39.90, 116.3901, 39.9001)], crs=4326)
    path = write_vector(gdf, tmp_path / name, layer="footprints")
    collection = json.loads(path.read_text())
    assert collection["name"] == Path(name).stem and len(collection["features"]) == 1
    assert pyogrio.list_layers(path)[0][0] == Path(name).stem  # what GIS programs show as the layer
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_geopackage_layer_keeps_its_given_name(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(116.39, 39.9)], crs=4326)
    path = write_vector(gdf, tmp_path / "out.gpkg", layer="density")
    assert [layer[0] for layer in pyogrio.list_layers(path)] == ["density"]
