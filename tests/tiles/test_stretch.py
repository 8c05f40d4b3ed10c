"""Band maps, the robust percentile stretch, and the global statistics of large rasters."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

from pgssl_core.errors import TileError
from pgssl_core.tiles import open_raster
from pgssl_core.tiles import raster as raster_module
from pgssl_core.tiles.stretch import resolve_band_map, robust_range, stretch_to_uint8


def test_resolve_band_map_defaults_and_errors():
    assert resolve_band_map(None, 1, "x") == (1, 1, 1)
    assert resolve_band_map(None, 2, "x") == (1, 1, 1)  # grey + alpha
    assert resolve_band_map(None, 8, "x") == (1, 2, 3)
    assert resolve_band_map(None, 4, "x", default=(3, 2, 1)) == (3, 2, 1)
    assert resolve_band_map([5], 8, "x") == (5, 5, 5)
    with pytest.raises(TileError, match="has 4 band"):
        resolve_band_map((1, 2, 9), 4, "x")
    with pytest.raises(TileError, match="1 or 3 bands"):
        resolve_band_map((1, 2, 3, 4), 4, "x")


def test_robust_range_ignores_invalid_and_non_finite():
    values = np.array([np.nan, np.inf, 0.0, 1.0, 2.0, 3.0, 1e9], dtype=np.float32)
    valid = np.array([True, True, True, True, True, True, False])
    low, high = robust_range(values, valid, (0.0, 100.0))
    assert (low, high) == (0.0, 3.0)


def test_robust_range_constant_and_empty():
    assert robust_range(np.full(10, 7.0), np.ones(10, bool)) == (7.0, 8.0)
    assert robust_range(np.zeros(10), np.zeros(10, bool)) == (0.0, 1.0)


def test_stretch_to_uint8_clips_and_zeroes_nan():
    band = np.array([[np.nan, -5.0, 0.0, 50.0, 100.0, 500.0]], dtype=np.float32)
    assert stretch_to_uint8(band, 0.0, 100.0).tolist() == [[0, 0, 0, 128, 255, 255]]


@pytest.fixture
def uniform_u16(make_geotiff):
    rng = np.random.default_rng(11)
    return make_geotiff(rng.integers(1000, 2001, (1, 256, 256), dtype=np.uint16), name="u16.tif")


def test_large_raster_statistics_from_window_sample(uniform_u16, monkeypatch):
    monkeypatch.setattr(raster_module, "STATS_MAX_PIXELS", 4096)
    monkeypatch.setattr(raster_module, "STATS_SAMPLE_SIDE", 16)
    with open_raster(uniform_u16) as src:
        windows = src._sample_windows()
        assert len(windows) == 16 and {w.width for w in windows} == {16}
        low, high = src.stretch_ranges[1]
    assert low == pytest.approx(1020, abs=15) and high == pytest.approx(1980, abs=15)


def test_sample_that_misses_the_data_falls_back_to_a_full_decimated_read(make_geotiff, monkeypatch):
    band = np.zeros((1, 256, 256), np.uint16)
    band[0, 40:60, 40:60] = np.arange(5000, 5400, dtype=np.uint16).reshape(20, 20)
    path = make_geotiff(band, nodata=0)
    monkeypatch.setattr(raster_module, "STATS_MAX_PIXELS", 4096)
    monkeypatch.setattr(raster_module, "STATS_SAMPLE_SIDE", 16)
    with open_raster(path) as src:
        assert not any(w.col_off <= 50 < w.col_off + 16 and w.row_off <= 50 < w.row_off + 16
                       for w in src._sample_windows())
        low, high = src.stretch_ranges[1]
    assert 5000 <= low < high <= 5400


def test_raster_with_overviews_uses_a_decimated_read(uniform_u16, monkeypatch):
    with rasterio.open(uniform_u16, "r+") as ds:
        ds.build_overviews([2, 4], Resampling.nearest)
    monkeypatch.setattr(raster_module, "STATS_MAX_PIXELS", 4096)
    with open_raster(uniform_u16) as src:
        monkeypatch.setattr(src, "_sample_windows", lambda: pytest.fail("window sample not expected"))
        low, high = src.stretch_ranges[1]
    assert low == pytest.approx(1020, abs=25) and high == pytest.approx(1980, abs=25)
