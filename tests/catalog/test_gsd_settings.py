"""A project's working GSD: suggested from its tiles until the user sets one."""

from __future__ import annotations

import pytest

from pgssl_core.catalog import import_file
from pgssl_core.catalog.gsd_settings import GsdSettings, project_gsd, record_gsd_m, set_project_gsd
from pgssl_core.tiles.gsd import ground_gsd_m
from tests.catalog.conftest import write_geotiff


def test_record_gsd_matches_the_georeference(project, make_geotiff) -> None:
    import rasterio

    path = make_geotiff("a.tif")
    import_file(project, path)
    with rasterio.open(path) as src:
        expected = ground_gsd_m(src.transform, src.crs, src.width, src.height)
    assert record_gsd_m(project.tiles()[0], None) == pytest.approx(expected, rel=1e-6)


def test_fine_imagery_keeps_the_base_models_gsd(project, tmp_path) -> None:
    _import_at(project, tmp_path, 0.4)  # the Beijing demo's GSD
    settings = project_gsd(project)
    assert settings.working_gsd_m == 0.3 and settings.suggested


def _import_at(project, tmp_path, pixel_m: float) -> None:
    import rasterio
    from rasterio.transform import from_origin

    path = write_geotiff(tmp_path / f"tile_{pixel_m}.tif")
    with rasterio.open(path, "r+") as dst:
        dst.transform = from_origin(440_000.0, 4_420_000.0, pixel_m, pixel_m)
    import_file(project, path)


def test_coarse_imagery_gets_a_coarser_working_gsd_until_the_user_sets_one(project, tmp_path) -> None:
    _import_at(project, tmp_path, 1.2)  # 1.2 m satellite imagery (1.2004 m on the ellipsoid)
    assert project_gsd(project).working_gsd_m == pytest.approx(0.8)
    set_project_gsd(project, GsdSettings(0.3))
    chosen = project_gsd(project)
    assert chosen.working_gsd_m == 0.3 and not chosen.suggested


def test_plain_tiles_follow_the_stated_gsd(project, tmp_path) -> None:
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(tmp_path / "plain.png")
    import_file(project, tmp_path / "plain.png")
    assert project_gsd(project).working_gsd_m == 0.3  # GSD unknown: no reason to move off 0.3 m
    project.set_setting("tile_gsd_m", 1.0)
    settings = project_gsd(project)
    assert settings.working_gsd_m == 0.7 and settings.tile_gsd_m == 1.0
    assert settings == GsdSettings(0.7, 1.0)  # saving the suggestion unchanged is no change
