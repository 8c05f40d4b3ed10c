"""Fixtures for the demo room: the shipped districts, a small synthetic scene, its GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from pgssl_core.demo.districts import load_beijing_districts
from pgssl_core.demo.scene import SceneTile, generate_beijing_scene
from pgssl_core.demo.scene_io import save_scene_tile


@pytest.fixture(scope="session")
def districts() -> gpd.GeoDataFrame:
    """The 16 districts from ``assets/beijing_districts.geojson`` (WGS84)."""
    return load_beijing_districts()


@pytest.fixture(scope="session")
def scene_tiles(districts: gpd.GeoDataFrame) -> list[SceneTile]:
    """A small scene: 2 synthetic tiles per district (32 tiles), seed 0."""
    return list(generate_beijing_scene(tiles_per_district=2, seed=0, districts=districts))


@pytest.fixture(scope="session")
def scene_geotiffs(scene_tiles: list[SceneTile], tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    """The first tile of every district written as tiny GeoTIFFs (EPSG:32650) with masks."""
    out = tmp_path_factory.mktemp("scene")
    return [save_scene_tile(t, out) for t in scene_tiles if t.site.index == 0]
