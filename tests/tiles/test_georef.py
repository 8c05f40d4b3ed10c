"""Georeferencing plain images: XYZ tile names, world files and .prj sidecars."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from PIL import Image
from rasterio.features import rasterize

from pgssl_core.tiles import parse_xyz_name, read_tile, xyz_bounds
from pgssl_core.tiles.georef import WEB_MERCATOR_HALF_WORLD, world_file_candidates

HALF = WEB_MERCATOR_HALF_WORLD


@pytest.mark.parametrize(("name", "expected"), [
    ("OAM-318669-270172-19.png", (19, 318669, 270172)),
    ("tiles/19/318669/270172.png", (19, 318669, 270172)),
    ("/a/b/0/0/0.jpg", (0, 0, 0)),
    ("scene-3-5-4.webp", (4, 3, 5)),
    ("OAM-318669-270172-2.png", None),   # x, y outside the 4 x 4 grid of zoom 2
    ("tiles/40/1/1.png", None),          # zoom out of range
    ("photo-2024.png", None),
    ("img.png", None),
])
def test_parse_xyz_name(name, expected):
    assert parse_xyz_name(name) == expected


def test_xyz_bounds():
    assert xyz_bounds(0, 0, 0) == pytest.approx((-HALF, -HALF, HALF, HALF))
    assert xyz_bounds(1, 1, 0) == pytest.approx((0.0, 0.0, HALF, HALF))
    assert xyz_bounds(1, 0, 1) == pytest.approx((-HALF, -HALF, 0.0, 0.0))


def _png(path, size=(40, 40)):
    Image.fromarray(np.full((*size, 3), 128, np.uint8)).save(path)
    return path


def test_xyz_named_png_is_georeferenced(tmp_path):
    folder = tmp_path / "1" / "1"
    folder.mkdir(parents=True)
    tile = read_tile(_png(folder / "0.png"))
    assert tile.georeferenced and tile.crs.to_epsg() == 3857
    assert tile.bounds == pytest.approx((0.0, 0.0, HALF, HALF))


def test_world_file_with_prj(tmp_path):
    path = _png(tmp_path / "scene.png")
    # Pixel centre of the upper-left pixel at (440000.25, 4420000.75 - 0.5), 0.5 m pixels.
    (tmp_path / "scene.pgw").write_text("0.5\n0.0\n0.0\n-0.5\n440000.25\n4419999.75\n")
    (tmp_path / "scene.prj").write_text("EPSG:32650")
    tile = read_tile(path)
    assert tile.georeferenced and tile.crs.to_epsg() == 32650
    assert tile.transform == Affine(0.5, 0, 440000.0, 0, -0.5, 4420000.0)
    assert tile.bounds == pytest.approx((440000.0, 4419980.0, 440020.0, 4420000.0))


@pytest.mark.parametrize("ext", [".pgw", ".pngw", ".wld", ".PGW"])
def test_world_file_extensions(tmp_path, ext):
    path = _png(tmp_path / "scene.png")
    (tmp_path / f"scene{ext}").write_text("1\n0\n0\n-1\n100.5\n199.5\n")
    tile = read_tile(path, default_crs="EPSG:3857")
    assert tile.georeferenced and tile.transform == Affine(1, 0, 100, 0, -1, 200)


def test_world_file_candidates_for_jpeg():
    names = [p.name for p in world_file_candidates("x/photo.jpg")]
    assert names[:2] == ["photo.jgw", "photo.JGW"] and "photo.jpgw" in names and "photo.wld" in names


def test_world_file_without_crs_is_not_georeferenced(tmp_path):
    path = _png(tmp_path / "scene.png")
    (tmp_path / "scene.pgw").write_text("1\n0\n0\n-1\n100.5\n199.5\n")
    tile = read_tile(path)
    assert not tile.georeferenced and tile.transform == Affine(1, 0, 100, 0, -1, 200)
    assert "scene.prj" in tile.not_georeferenced_reason


def test_malformed_world_file_gives_reason_not_failure(tmp_path):
    path = _png(tmp_path / "scene.png")
    (tmp_path / "scene.pgw").write_text("one\ntwo\n")
    tile = read_tile(path)
    assert not tile.georeferenced and "malformed" in tile.not_georeferenced_reason


def test_xyz_name_used_when_world_file_lacks_crs(tmp_path):
    path = _png(tmp_path / "OAM-1-0-1.png")
    (tmp_path / "OAM-1-0-1.pgw").write_text("1\n0\n0\n-1\n100.5\n199.5\n")
    tile = read_tile(path)
    assert tile.georeferenced and tile.bounds == pytest.approx((0.0, 0.0, HALF, HALF))


def test_real_tile_georeferencing_matches_osm_buildings(oam_dir):
    """Rasterising the OSM polygons on the tile's own grid must reproduce its building mask."""
    manifest = pd.read_csv(oam_dir / "manifest.csv")
    rows = manifest[(manifest.zoom == 19) & manifest.building_frac.between(0.2, 0.6)].sort_values("file").head(2)
    assert len(rows) == 2
    for row in rows.itertuples():
        tile = read_tile(oam_dir / "images" / row.file)
        labels = next((oam_dir / "labels_geojson").glob(f"*{row.area}*.geojson"))
        polygons = gpd.read_file(labels).to_crs(tile.crs)
        burned = rasterize(polygons.geometry, out_shape=(256, 256), transform=tile.transform) > 0
        with Image.open(oam_dir / "masks" / row.file) as im:
            mask = np.asarray(im)
        mask = (mask[..., 0] if mask.ndim == 3 else mask) > 0
        iou = (burned & mask).sum() / (burned | mask).sum()
        assert iou > 0.9, (row.file, iou)
        # A one-tile shift of the grid must not match: the test can fail.
        shifted = rasterize(polygons.geometry, out_shape=(256, 256),
                            transform=tile.transform @ Affine.translation(256, 0)) > 0
        assert (shifted & mask).sum() / max((shifted | mask).sum(), 1) < 0.5
