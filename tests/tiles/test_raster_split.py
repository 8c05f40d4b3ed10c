"""Windowed access (RasterSource), splitting (iter_raster_tiles) and bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.windows import Window

from pgssl_core.errors import TileError
from pgssl_core.tiles import iter_raster_tiles, needs_split, open_raster, read_tile, tile_windows
from pgssl_core.tiles import raster as raster_module

from .conftest import ORIGIN_TRANSFORM, UTM50N


def test_tile_windows_skip_edge_slivers():
    windows = tile_windows(130, 100, tile_size=64)
    # Columns 0, 64 (full) and 128 (2 px: skipped); rows 0 (64) and 64 (36 px: kept).
    assert windows == [(0, 0, 64, 64), (0, 64, 64, 64), (64, 0, 36, 64), (64, 64, 36, 64)]
    with pytest.raises(ValueError):
        tile_windows(100, 100, tile_size=16)


def test_iter_tiles_offsets_transforms_and_pixels(make_geotiff):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, (3, 100, 130), dtype=np.uint8)
    tiles = list(iter_raster_tiles(make_geotiff(data), tile_size=64))
    assert [offset for offset, _ in tiles] == [(0, 0), (0, 64), (64, 0), (64, 64)]
    for (row, col), tile in tiles:
        h, w = tile.image.shape[:2]
        np.testing.assert_array_equal(tile.image, np.moveaxis(data[:, row:row + h, col:col + w], 0, -1))
        assert tile.crs == UTM50N
        assert tile.transform.c == pytest.approx(ORIGIN_TRANSFORM.c + 0.5 * col)
        assert tile.transform.f == pytest.approx(ORIGIN_TRANSFORM.f - 0.5 * row)
        assert tile.meta.width == 130  # meta describes the source file


def test_all_nodata_windows_are_skipped(make_geotiff):
    data = np.full((1, 128, 128), 7, np.uint8)
    data[:, :64, :64] = 0
    offsets = [o for o, _ in iter_raster_tiles(make_geotiff(data, nodata=0), tile_size=64)]
    assert offsets == [(0, 64), (64, 0), (64, 64)]


def test_all_nodata_raster_raises(make_geotiff):
    with pytest.raises(TileError, match="nodata"):
        list(iter_raster_tiles(make_geotiff(np.zeros((1, 128, 128), np.uint8), nodata=0), tile_size=64))


def test_global_stretch_is_consistent_across_windows(make_geotiff):
    # Left half dark, right half bright: per-window stretch would make both halves full-range.
    band = np.where(np.arange(128)[None, :] < 64, 1000, 3000).astype(np.uint16)
    band = np.repeat(band, 64, axis=0) + np.arange(64, dtype=np.uint16)[:, None]
    path = make_geotiff(np.stack([band] * 3))
    whole = read_tile(path).image
    tiles = dict(iter_raster_tiles(path, tile_size=64))
    np.testing.assert_array_equal(tiles[(0, 0)].image, whole[:, :64])
    np.testing.assert_array_equal(tiles[(0, 64)].image, whole[:, 64:])
    assert tiles[(0, 0)].image.max() < 100 < 150 < tiles[(0, 64)].image.min()


def test_png_is_split_in_memory_with_xyz_transform(tmp_path):
    path = tmp_path / "OAM-1-0-1.png"
    Image.fromarray(np.arange(128 * 128 * 3, dtype=np.uint32).reshape(128, 128, 3).astype(np.uint8)).save(path)
    tiles = dict(iter_raster_tiles(path, tile_size=64))
    assert sorted(tiles) == [(0, 0), (0, 64), (64, 0), (64, 64)]
    whole = read_tile(path)
    assert tiles[(64, 64)].transform == whole.transform @ whole.transform.translation(64, 64)
    np.testing.assert_array_equal(tiles[(64, 0)].image, whole.image[64:, :64])


def test_read_window_and_bounds_check(rgb_tif, rgb_u8):
    with open_raster(rgb_tif) as src:
        rgb, valid = src.read_window(10, 5, 20, 30)
        assert rgb.shape == (30, 20, 3) and valid.all()
        np.testing.assert_array_equal(rgb, np.moveaxis(rgb_u8[:, 5:35, 10:30], 0, -1))
        with pytest.raises(ValueError):
            src.read_window(70, 0, 20, 10)
        assert src.georeferenced and src.bounds == pytest.approx((440000.0, 4419968.0, 440040.0, 4420000.0))


def test_open_raster_refuses_plain_images(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(path)
    with pytest.raises(TileError, match="GeoTIFF"):
        open_raster(path)


def test_nodata_fraction_blockwise(make_geotiff):
    data = np.full((1, 100, 100), 5, np.uint8)
    data[:, :25] = 0
    with open_raster(make_geotiff(data, nodata=0)) as src:
        assert src.nodata_fraction(block=32) == pytest.approx(0.25)


def test_needs_split(make_geotiff, tmp_path):
    assert needs_split(make_geotiff(np.zeros((1, 40, 600), np.uint8)), tile_size=512)
    assert not needs_split(make_geotiff(np.zeros((1, 40, 500), np.uint8), name="b.tif"), tile_size=512)
    bomb = tmp_path / "huge.png"
    from .conftest import png_with_header
    bomb.write_bytes(png_with_header(20_000, 20_000))
    with pytest.raises(TileError):
        needs_split(bomb)


@pytest.fixture
def big_uint16_tif(tmp_path):
    """A 3072 x 3072 px, 3-band uint16 tiled GeoTIFF (54 MiB raw), written window by window."""
    path = tmp_path / "big.tif"
    size, block = 3072, 512
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint16", crs=UTM50N,
                   transform=ORIGIN_TRANSFORM, tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    rng = np.random.default_rng(5)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, block):
            dst.write(rng.integers(0, 4000, (3, block, size), dtype=np.uint16), window=Window(0, row, size, block))
    return path


def test_memory_stays_bounded_on_a_large_raster(big_uint16_tif, monkeypatch):
    """Peak Python-side allocation while splitting stays far below one whole-raster read.

    The stretch statistics read is capped by ``STATS_MAX_PIXELS`` whatever the raster size (1 Mpx by
    default, ~20 MiB); it is lowered here so this small test raster shows the per-window bound.
    """
    monkeypatch.setattr(raster_module, "STATS_MAX_PIXELS", 256 * 256)
    whole_read_bytes = 3072 * 3072 * 3 * 2
    tracemalloc.start()
    try:
        count = 0
        for _, tile in iter_raster_tiles(big_uint16_tif, tile_size=512):
            count += 1
            assert tile.image.shape == (512, 512, 3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 36
    assert peak < whole_read_bytes / 6, f"peak {peak / 2**20:.1f} MiB"
