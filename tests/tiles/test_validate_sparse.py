"""Issue 11, items 2 and 7: one validation at every entry point; work in proportion to the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from pgssl_core.catalog import Project
from pgssl_core.cli import main
from pgssl_core.errors import TileError
from pgssl_core.models import ModelConfig, create_model, save_model
from pgssl_core.tiles import iter_raster_tiles, open_raster
from pgssl_core.tiles.validate import validate_input, validate_inputs

TOO_SMALL = "300 x 1 px is too small; tiles need at least 32 px on each side"


def _thin(path):
    with rasterio.open(path, "w", driver="GTiff", width=300, height=1, count=3, dtype="uint8", crs="EPSG:32650",
                       transform=from_origin(448_000.0, 4_420_000.0, 0.5, 0.5)) as ds:
        ds.write(np.full((3, 1, 300), 120, np.uint8))
    return path


def _sparse(path, side=200_000, block=(1024, 2048), dtype="uint8"):
    """A side x side px sparse, tiled GeoTIFF (512 px blocks) with one block written, in UTM 50N."""
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=3, dtype=dtype, crs="EPSG:32650",
                       transform=from_origin(440_000.0, 4_420_000.0, 0.5, 0.5), tiled=True, blockxsize=512,
                       blockysize=512, sparse_ok=True, compress="deflate", BIGTIFF="YES") as ds:
        rng = np.random.default_rng(0)
        ds.write(rng.integers(1, 255, (3, 512, 512)).astype(dtype), window=Window(*block, 512, 512))
    return path


@pytest.fixture
def model_file(tmp_path):
    cfg = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 8))
    save_model(tmp_path / "model.pt", create_model(cfg), cfg)
    return tmp_path / "model.pt"


def test_thin_raster_refused_the_same_way_by_inspect_import_and_predict(tmp_path, model_file, capsys):
    # The example: predict used to pad a 1 x 300 px raster and report 99% building.
    path = _thin(tmp_path / "thin.tif")
    assert main(["inspect", str(path)]) == 2
    inspect_err = capsys.readouterr().err.strip()
    assert main(["import", str(path), "--project", str(tmp_path / "proj")]) == 2
    import_out = capsys.readouterr()
    assert main(["predict", "--model", str(model_file), "--input", str(path), "--out", str(tmp_path / "pred")]) == 2
    predict_err = capsys.readouterr().err.strip()
    assert inspect_err == predict_err == f"error: thin.tif: {TOO_SMALL}"
    assert TOO_SMALL in import_out.out
    assert not (tmp_path / "pred").exists()  # refused before any work


def test_predict_folder_names_the_bad_file_and_the_others_go_on(tmp_path, model_file, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    _thin(folder / "a_thin.tif")
    with rasterio.open(folder / "b_good.tif", "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(448_000.0, 4_420_000.0, 0.5, 0.5)) as ds:
        ds.write(np.full((3, 64, 64), 90, np.uint8))
    (folder / "c_text.png").write_text("not an image")
    rc = main(["predict", "--model", str(model_file), "--input", str(folder), "--out", str(tmp_path / "pred"),
               "--tile", "64", "--overlap", "16"])
    captured = capsys.readouterr()
    assert rc == 1
    assert f"error: a_thin.tif: {TOO_SMALL}" in captured.err and "error: c_text.png: content is text" in captured.err
    assert [p.name for p in (tmp_path / "pred").iterdir()] == ["b_good_probability.tif"]


def test_georeference_is_checked_only_when_polygons_are_asked_for(tmp_path):
    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.full((3, 40, 40), 80, np.uint8))
    assert not validate_input(path).georeferenced
    with pytest.raises(TileError, match=r"^plain\.tif: GeoTIFF has no CRS and no geotransform; --polygons need"):
        validate_input(path, need_georef=True, purpose="--polygons")


def test_validation_checks_bands_and_readable_data(tmp_path, make_geotiff, rgb_u8):
    with pytest.raises(TileError, match=r"band map \(4, 2, 1\) asks for band 4"):
        validate_input(make_geotiff(rgb_u8), band_map=(4, 2, 1))
    truncated = tmp_path / "cut.tif"
    full = make_geotiff(rgb_u8, name="full.tif", compress="deflate")
    truncated.write_bytes(full.read_bytes()[:600])
    with pytest.raises(TileError, match=r"^cut\.tif: GeoTIFF is truncated or corrupt"):
        validate_input(truncated)
    good, bad = validate_inputs([full, truncated])
    assert good == [full] and bad[0][0] == truncated


def test_sparse_200k_raster_inspect_answers_from_the_block_table(tmp_path, capsys):
    # The example: one 512 x 512 block of a 200,000 x 200,000 px raster.
    path = _sparse(tmp_path / "sparse.tif")
    assert main(["inspect", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    share = 512 * 512 / 200_000**2
    assert summary["width"] == summary["height"] == 200_000
    assert summary["data_share"] == pytest.approx(share, rel=1e-3)
    assert summary["nodata_fraction"] == pytest.approx(1 - share, abs=1e-6)


def test_sparse_raster_import_splits_only_the_data(tmp_path, capsys):
    path = _sparse(tmp_path / "sparse.tif")
    assert main(["import", str(path), "--project", str(tmp_path / "proj")]) == 0
    out = capsys.readouterr().out
    assert "into 1 tiles (data in 0.0007% of the raster, empty blocks skipped)" in out
    with Project.open(tmp_path / "proj") as project:
        (record,) = project.tiles()
        tile = project.read(record.id)
    assert tile.valid.all() and tile.width == tile.height == 512


def test_absent_blocks_are_nodata_and_uint16_stats_come_from_stored_blocks(tmp_path):
    path = _sparse(tmp_path / "sparse16.tif", side=20_000, block=(512, 0), dtype="uint16")
    with open_raster(path) as src:
        assert not src.window_has_data(0, 0, 512, 512) and src.window_has_data(500, 0, 20, 20)
        rgb, valid = src.read_window(0, 0, 1536, 512)
        assert valid[:, 512:1024].all() and not valid[:, :512].any() and not valid[:, 1024:].any()
        low, high = src.stretch_ranges[1]
        assert low >= 1  # from the stored block, not from the zeros of absent ones
        assert rgb[:, 512:1024].std() > 20
    tiles = list(iter_raster_tiles(path))
    assert [offset for offset, _ in tiles] == [(0, 512)]


def test_training_folder_refuses_a_bad_file_by_name(tmp_path):
    # Training takes the folder as the data set the user asked for: a bad file stops it, named.
    from pgssl_core.train.data import load_folder

    (tmp_path / "images").mkdir()
    _thin(tmp_path / "images" / "thin.tif")
    with pytest.raises(TileError, match=f"^thin.tif: {TOO_SMALL}$"):
        load_folder(tmp_path / "images")


def test_import_band_map_for_undefined_bands(tmp_path, make_geotiff, capsys):
    from rasterio.enums import ColorInterp

    data = np.stack([np.full((40, 40), v, np.uint8) for v in (10, 20, 30, 40)])
    path = make_geotiff(data, name="four.tif", colorinterp=[ColorInterp.undefined] * 4)
    assert main(["import", str(path), "--project", str(tmp_path / "p"), "--band-map", "4,3,2"]) == 0
    with Project.open(tmp_path / "p") as project:
        (record,) = project.tiles()
        assert tuple(project.read(record.id).image[0, 0]) == (40, 30, 20)


@pytest.mark.slow  # about 10 s on an idle 2-core machine (torch, a 200,000 px output), more under load
def test_sparse_raster_predict_covers_only_the_data_and_the_assessment_follows(tmp_path, model_file, capsys):
    path = _sparse(tmp_path / "sparse.tif")
    out = tmp_path / "pred"
    rc = main(["predict", "--model", str(model_file), "--input", str(path), "--out", str(out), "--tile", "256",
               "--overlap", "32"])
    captured = capsys.readouterr()
    printed = captured.out
    assert rc == 0, captured.err
    assert "200000 x 200000 px" in printed and "data in 0.0007% of the raster, 1 region(s) predicted" in printed
    with rasterio.open(out / "sparse_probability.tif") as ds:
        assert (ds.width, ds.height) == (200_000, 200_000)
        assert ds.transform == from_origin(440_000.0, 4_420_000.0, 0.5, 0.5)
        written = ds.read(1, window=Window(1024, 2048, 512, 512))
        assert (written != 255).all()  # the data block was predicted
        assert (ds.read(1, window=Window(0, 0, 512, 512)) == 255).all()  # an absent block is nodata
    from pgssl_core.assess import footprints_and_extents

    # the assessment reads the sparse output region by region (not 40 gigapixels): the imaged
    # extent is the stored block, 256 m x 256 m of 0.5 m pixels (true area: UTM scale ~0.9996)
    footprints, imaged = footprints_and_extents([out / "sparse_probability.tif"], threshold=0.99)
    assert imaged.to_crs("EPSG:32650").area.iloc[0] == pytest.approx(256 * 256, rel=1e-6)


def test_data_regions_group_touching_blocks(tmp_path):
    from pgssl_core.tiles.regions import RasterRegion, data_regions

    path = tmp_path / "two.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4096, height=2048, count=3, dtype="uint8", crs="EPSG:32650",
                       transform=from_origin(440_000.0, 4_420_000.0, 0.5, 0.5), tiled=True, blockxsize=512,
                       blockysize=512, sparse_ok=True) as ds:
        for col, row in ((0, 0), (512, 512), (3584, 1536)):  # two diagonal neighbours, one far away
            ds.write(np.full((3, 512, 512), 77, np.uint8), window=Window(col, row, 512, 512))
    with open_raster(path) as src:
        assert src.data_share == pytest.approx(3 / 32)
        regions = data_regions(src.blocks)
        assert regions == [(0, 0, 1024, 1024), (3584, 1536, 512, 512)]
        region = RasterRegion(src, regions[1])
        rgb, valid = region.read_window(0, 0, 512, 512)
        assert valid.all() and (rgb == 77).all()
        assert region.transform == src.window_transform(3584, 1536)


def test_plain_images_are_checked_without_a_full_decode(tmp_path):
    from PIL import Image

    good = tmp_path / "ok.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(good)
    check = validate_input(good)
    assert (check.width, check.height, check.georeferenced) == (40, 40, False)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(TileError, match=r"^cut\.png: PNG file is truncated or corrupt"):
        validate_input(cut)
    with pytest.raises(TileError, match=r"^ok\.png: band map \(1, 2, 4\) asks for band 4"):
        validate_input(good, band_map=(1, 2, 4))
    with pytest.raises(TileError, match=r"^ok\.png: PNG has no world file .*; --polygons need a CRS"):
        validate_input(good, need_georef=True, purpose="--polygons")
