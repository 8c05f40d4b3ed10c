"""The one prediction pipeline: its settings, the route each raster takes, the writer thread, many rasters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from pgssl_core.infer.pipeline import predict_file, predict_rasters
from pgssl_core.infer.raster import predict_raster, write_rows
from pgssl_core.infer.settings import BATCH_WINDOWS, OVERLAP_PX, WINDOW_PX, PredictSettings
from pgssl_core.tiles import read_tile
from pgssl_core.tiles.blocks import block_presence
from tests.infer.conftest import random_image


def test_settings_defaults_are_the_named_constants_and_tag_the_window_as_before() -> None:
    settings = PredictSettings()
    assert (settings.window, settings.overlap, settings.batch_size) == (WINDOW_PX, OVERLAP_PX, BATCH_WINDOWS)
    # outputs written before the window had its name carry pgssl_tile: the tag keeps it
    assert PredictSettings(window=256, overlap=32, tta=True).meta == {"tile": 256, "overlap": 32, "tta": True}


def _sparse(path: Path) -> Path:
    """A 1,024 px sparse GeoTIFF (256 px blocks) with 2 of its 16 blocks stored, far apart."""
    with rasterio.open(path, "w", driver="GTiff", width=1024, height=1024, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(448_000.0, 4_420_000.0, 0.5, 0.5), tiled=True,
                       blockxsize=256, blockysize=256, sparse_ok=True) as ds:
        for k, (col, row) in enumerate(((0, 0), (768, 512))):
            ds.write(np.moveaxis(random_image(256, 256, seed=k), 2, 0), window=Window(col, row, 256, 256))
    return path


def test_a_sparse_geotiff_is_predicted_by_its_data_regions_only(tiny_model, tmp_path: Path) -> None:
    model, config = tiny_model
    settings = PredictSettings(window=128, overlap=32, gsd_m=None)
    summary, note = predict_file(model, config, _sparse(tmp_path / "sparse.tif"), tmp_path / "out.tif", settings)
    assert "2 region(s) predicted" in note
    assert (summary.width, summary.height, summary.valid_pixels) == (1024, 1024, 2 * 256 * 256)
    assert summary.windows == 2 * 9  # 3 x 3 windows of 128 px (stride 96) over each 256 px region
    with rasterio.open(tmp_path / "out.tif") as out:
        # 512 px output blocks: only the two holding a region were written, the others read as nodata
        assert block_presence(out).present.tolist() == [[True, False], [False, True]]


def test_dense_geotiffs_and_plain_images_take_the_windowed_route(tiny_model, make_raster, tmp_path: Path) -> None:
    model, config = tiny_model
    src, _ = make_raster(96, 80)
    settings = PredictSettings(window=64, overlap=16, gsd_m=None)
    summary, note = predict_file(model, config, src, tmp_path / "a.tif", settings)
    assert note == "" and summary.windows == 4
    direct = predict_raster(model, config, read_tile(src), tmp_path / "b.tif", settings)
    with rasterio.open(tmp_path / "a.tif") as a, rasterio.open(direct.path) as b:
        assert np.array_equal(a.read(1), b.read(1))


def test_the_writer_thread_writes_in_order_counts_and_passes_errors_on(tmp_path: Path) -> None:
    prob = np.linspace(0, 1, 4 * 8, dtype=np.float32).reshape(4, 8)
    valid = np.ones((4, 8), bool)
    valid[0, 0] = False
    with rasterio.open(tmp_path / "w.tif", "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as ds:
        counts = write_rows(ds, iter([(0, prob, valid), (4, prob[::-1].copy(), valid)]), "mask", 0.5)
    assert counts == (62, 31)  # 16 of 32 per block reach 0.5; the invalid pixel of the second block is one
    with rasterio.open(tmp_path / "w.tif") as ds:
        band = ds.read(1)
    expected = [np.where(valid, (p >= 0.5).astype(np.uint8), 255) for p in (prob, prob[::-1])]
    assert np.array_equal(band, np.concatenate(expected))

    def failing():
        yield 0, prob, valid
        raise RuntimeError("forward pass failed")

    with rasterio.open(tmp_path / "x.tif", "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as ds:
        with pytest.raises(RuntimeError, match="forward pass failed"):
            write_rows(ds, failing(), "mask", 0.5)


def test_many_rasters_in_one_process_resume_and_outline_every_output(tiny_model, make_raster, tmp_path: Path) -> None:
    model, config = tiny_model
    jobs = [(make_raster(64, 64, seed=i, name=f"r{i}.tif")[0], tmp_path / "out" / f"r{i}.tif") for i in range(3)]
    (tmp_path / "out").mkdir()
    settings = PredictSettings(window=64, overlap=16, gsd_m=None)
    predict_file(model, config, *jobs[1], settings)  # already done by an earlier, killed run
    lines, outlined = [], []
    reports = predict_rasters(model, config, jobs, settings, outline=lambda p, t, n: outlined.append(n) or (n, p),
                              resume=True, report_line=lines.append)
    assert [r.written for r in reports] == [[str(jobs[0][1]), str(jobs[2][1])]]
    assert reports[0].skipped == [str(jobs[1][1])] and "exists, skipped (--resume)" in lines[1]
    assert lines[0].startswith(f"{jobs[0][1]}: 64 x 64 px, ") and lines[0].endswith("building")
    assert outlined == ["r0", "r1", "r2"]  # the skipped output too, in input order
