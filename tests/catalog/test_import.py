"""Importing files and folders: single file, folder, large raster split, bad files refused."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from pgssl_core.catalog import expand_paths, import_file, import_paths, importer
from pgssl_core.errors import TileError


def test_single_file(project, make_geotiff):
    result = import_file(project, make_geotiff("scene one.tif"))
    assert result.status == "added" and result.ok and len(result.tile_ids) == 1
    assert result.source_name == "scene one.tif"
    assert result.line().startswith("added: scene one.tif -> tile ")
    (rec,) = project.tiles()
    assert rec.original_name == "scene one.tif" and rec.id == result.tile_ids[0]


def test_folder_recursive_skips_hidden_and_non_images(project, make_geotiff, tmp_path):
    make_geotiff("a.tif", seed=1)
    make_geotiff("sub/b.tiff", seed=2)
    make_geotiff(".hidden/c.tif", seed=3)
    (tmp_path / "inputs" / "notes.txt").write_text("not an image")
    (tmp_path / "inputs" / "manifest.csv").write_text("file\n")
    results = import_paths(project, [tmp_path / "inputs"])
    assert [(r.source_name, r.status) for r in results] == [("a.tif", "added"), ("b.tiff", "added")]
    assert len(project.tiles()) == 2


def test_large_raster_is_split_with_window_georeferencing(project, make_geotiff):
    path = make_geotiff("big.tif", width=300, height=200)
    result = import_file(project, path, tile_size=128)
    assert result.status == "split"
    assert len(result.tile_ids) == 6  # 3 columns x 2 rows of at most 128 px (edges >= 32 px)
    assert result.line() == "split: big.tif into 6 tiles"
    records = [project.tile(i) for i in result.tile_ids]
    assert [(r.width, r.height) for r in records] == [(128, 128), (128, 128), (44, 128),
                                                      (128, 72), (128, 72), (44, 72)]
    # tile (row 128, col 256) starts 256 px = 128 m east and 128 px = 64 m south of the origin
    last = records[-1]
    assert last.original_name == "big_r128_c256.tif"
    assert last.bounds == pytest.approx((440_128.0, 4_420_000.0 - 100.0, 440_150.0, 4_420_000.0 - 64.0))
    assert (last.source["source_name"], last.source["row_off"], last.source["col_off"]) == ("big.tif", 128, 256)
    # the stored pixels are the source's pixels
    with rasterio.open(path) as src:
        expected = src.read(window=((128, 200), (256, 300)))
    assert np.array_equal(project.read(last.id).image, np.moveaxis(expected, 0, -1))


def test_bad_files_refused_with_reason_while_others_are_added(project, make_geotiff, tmp_path):
    good = make_geotiff("good.tif")
    text = tmp_path / "inputs" / "fake.png"
    text.write_text("this is not an image")
    truncated = tmp_path / "inputs" / "cut.tif"
    truncated.write_bytes(make_geotiff("whole.tif", seed=4).read_bytes()[:300])
    tiny = make_geotiff("tiny.tif", width=8, height=8)
    missing = tmp_path / "inputs" / "missing.tif"
    results = import_paths(project, [text, good, truncated, tiny, missing])
    by_name = {r.source_name: r for r in results}
    assert [r.source_name for r in results] == ["fake.png", "good.tif", "cut.tif", "tiny.tif", "missing.tif"]
    assert by_name["good.tif"].status == "added"
    for name in ("fake.png", "cut.tif", "tiny.tif", "missing.tif"):
        r = by_name[name]
        assert r.status == "error" and r.tile_ids == [] and r.message, name
        assert "\n" not in r.message
    assert "text" in by_name["fake.png"].message
    assert "no such file" in by_name["missing.tif"].message
    assert len(project.tiles()) == 1
    assert len(list((project.root / "tiles").iterdir())) == 1, "a refused file left a GeoTIFF behind"


def test_failed_split_is_rolled_back(project, make_geotiff, monkeypatch):
    real = importer.iter_raster_tiles

    def fails_after_two(path, tile_size=512, band_map=None):
        for n, item in enumerate(real(path, tile_size=tile_size, band_map=band_map)):
            if n == 2:
                raise TileError("big.tif: read error in block 3")
            yield item

    monkeypatch.setattr(importer, "iter_raster_tiles", fails_after_two)
    result = import_file(project, make_geotiff("big.tif", width=300, height=200), tile_size=128)
    assert result.status == "error" and "block 3" in result.message
    assert project.tiles() == [] and list((project.root / "tiles").iterdir()) == []


def test_progress_and_expand_order(project, make_geotiff, tmp_path):
    a, b = make_geotiff("z.tif", seed=1), make_geotiff("a.tif", seed=2)
    assert expand_paths([a, b, a]) == [a, b]  # argument order kept, duplicates dropped
    seen = []
    import_paths(project, [a, b], progress=lambda done, total, r: seen.append((done, total, r.status)))
    assert seen == [(1, 2, "added"), (2, 2, "added")]


def test_real_oam_tiles_are_georeferenced(project, oam_dir):
    files = sorted((oam_dir / "images").glob("*.png"))[:3]
    results = import_paths(project, files)
    assert [r.status for r in results] == ["added"] * 3, [r.message for r in results]
    for rec in project.tiles():
        assert rec.georeferenced and rec.crs == "EPSG:3857" and (rec.width, rec.height) == (256, 256)
