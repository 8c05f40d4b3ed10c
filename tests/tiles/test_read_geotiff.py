"""read_tile on GeoTIFFs: pixel types, band maps, nodata, masks, georeferencing, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning

from pgssl_core.errors import TileError
from pgssl_core.tiles import read_tile

from .conftest import ORIGIN_TRANSFORM, UTM50N


def test_uint8_rgb_passes_through_with_georeferencing(rgb_tif, rgb_u8):
    tile = read_tile(rgb_tif)
    assert tile.image.shape == (64, 80, 3) and tile.image.dtype == np.uint8
    np.testing.assert_array_equal(tile.image, np.moveaxis(rgb_u8, 0, -1))
    assert tile.valid.all() and tile.nodata_fraction == 0.0
    assert tile.crs == UTM50N and tile.transform == ORIGIN_TRANSFORM
    assert tile.georeferenced and tile.not_georeferenced_reason is None
    assert tile.bounds == pytest.approx((440_000.0, 4_420_000.0 - 32.0, 440_040.0, 4_420_000.0))
    assert (tile.meta.width, tile.meta.height, tile.meta.bands) == (80, 64, 3)
    assert (tile.meta.dtype, tile.meta.driver, tile.meta.source_name) == ("uint8", "GTiff", "rgb.tif")


def test_single_band_is_replicated_to_grey(make_geotiff, rgb_u8):
    tile = read_tile(make_geotiff(rgb_u8[:1]))
    for channel in range(3):
        np.testing.assert_array_equal(tile.image[..., channel], rgb_u8[0])


def test_four_bands_default_and_band_map(make_geotiff):
    data = np.stack([np.full((40, 40), v, np.uint8) for v in (10, 20, 30, 40)])  # e.g. B, G, R, NIR
    path = make_geotiff(data)
    assert tuple(read_tile(path).image[0, 0]) == (10, 20, 30)
    assert tuple(read_tile(path, band_map=(3, 2, 1)).image[0, 0]) == (30, 20, 10)
    assert tuple(read_tile(path, band_map=[4]).image[0, 0]) == (40, 40, 40)


def test_colour_interpretation_picks_rgb_bands(make_geotiff):
    data = np.stack([np.full((40, 40), v, np.uint8) for v in (10, 20, 30, 40)])
    path = make_geotiff(data, colorinterp=[ColorInterp.blue, ColorInterp.green, ColorInterp.red,
                                           ColorInterp.undefined])
    assert tuple(read_tile(path).image[0, 0]) == (30, 20, 10)


@pytest.mark.parametrize("band_map", [(1, 2, 5), (0, 1, 2), (1, 2)])
def test_bad_band_map(make_geotiff, rgb_u8, band_map):
    with pytest.raises(TileError, match="band map"):
        read_tile(make_geotiff(rgb_u8), band_map=band_map)


def test_uint16_robust_stretch_excludes_nodata(make_geotiff):
    # Values 1000..1999 in a gradient, a hot-pixel outlier and a nodata border of 65535.
    band = np.tile(np.linspace(1000, 1999, 50).astype(np.uint16), (50, 1))
    band[25, 25] = 60000
    band[:, :5] = 65535
    tile = read_tile(make_geotiff(np.stack([band] * 3), nodata=65535))
    assert not tile.valid[:, :5].any() and tile.valid[:, 5:].all()
    assert tile.nodata_fraction == pytest.approx(0.1)
    grey = tile.image[..., 0]
    assert (tile.image[~tile.valid] == 0).all()
    # The 2-98 % range of VALID pixels maps to 0..255: the outlier and nodata do not compress it.
    assert grey[10, 5] <= 5 and grey[10, 49] >= 250
    assert grey[25, 25] == 255
    assert np.all(np.diff(grey[10, 6:49].astype(int)) >= 0)
    assert tile.meta.dtype == "uint16" and tile.meta.nodata == 65535


def test_nodata_needs_every_band_missing(make_geotiff):
    data = np.full((3, 40, 40), 90, np.uint8)
    data[:, 0, 0] = 0          # all bands nodata: missing
    data[0, 0, 1] = 0          # only red is 0: a dark pixel, still data
    tile = read_tile(make_geotiff(data, nodata=0))
    assert not tile.valid[0, 0] and tile.valid[0, 1]
    assert tuple(tile.image[0, 1]) == (0, 90, 90)


def test_float_nan_is_invalid_and_stretched(make_geotiff):
    band = np.tile(np.linspace(-1.0, 1.0, 48, dtype=np.float32), (48, 1))
    band[:10] = np.nan
    tile = read_tile(make_geotiff(np.stack([band] * 3)))
    assert not tile.valid[:10].any() and tile.valid[10:].all()
    assert tile.image[20, 0, 0] < 10 and tile.image[20, -1, 0] > 245
    assert tile.meta.dtype == "float32"


def test_internal_mask_is_respected(make_geotiff, rgb_u8):
    mask = np.ones((64, 80), bool)
    mask[:, 40:] = False
    tile = read_tile(make_geotiff(rgb_u8, mask=mask))
    np.testing.assert_array_equal(tile.valid, mask)
    assert (tile.image[:, 40:] == 0).all()


def test_alpha_band_is_the_mask(make_geotiff, rgb_u8):
    alpha = np.full((1, 64, 80), 255, np.uint8)
    alpha[0, :16] = 0
    path = make_geotiff(np.concatenate([rgb_u8, alpha]), photometric="RGB", alpha="YES")
    tile = read_tile(path)
    assert not tile.valid[:16].any() and tile.valid[16:].all()
    np.testing.assert_array_equal(tile.image[16:], np.moveaxis(rgb_u8, 0, -1)[16:])


def test_not_georeferenced_geotiff(make_geotiff, rgb_u8):
    path = make_geotiff(rgb_u8, crs=None, transform=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotGeoreferencedWarning)  # rasterio's warning is absorbed
        tile = read_tile(path)
    assert not tile.georeferenced and tile.bounds is None and tile.transform is None
    assert "no CRS" in tile.not_georeferenced_reason


def test_geotiff_without_crs_keeps_transform_but_is_not_georeferenced(make_geotiff, rgb_u8):
    tile = read_tile(make_geotiff(rgb_u8, crs=None))
    assert tile.transform == ORIGIN_TRANSFORM and tile.crs is None
    assert not tile.georeferenced and tile.not_georeferenced_reason == "GeoTIFF has no CRS"


def test_all_nodata_is_refused(make_geotiff):
    with pytest.raises(TileError, match="nodata"):
        read_tile(make_geotiff(np.zeros((3, 40, 40), np.uint8), nodata=0))


def test_too_small_is_refused(make_geotiff):
    with pytest.raises(TileError, match="at least 32 px"):
        read_tile(make_geotiff(np.zeros((3, 31, 200), np.uint8)))


def test_over_pixel_limit_is_refused_with_hint(rgb_tif):
    with pytest.raises(TileError, match="iter_raster_tiles"):
        read_tile(rgb_tif, max_pixels=1000)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_geotiff(make_geotiff, rgb_u8, keep, tmp_path):
    full = make_geotiff(rgb_u8)
    data = full.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TileError, match="truncated or corrupt") as info:
        read_tile(cut)
    assert "\n" not in str(info.value) and str(tmp_path) not in str(info.value)


def test_header_only_tiff_is_refused(tmp_path):
    path = tmp_path / "stub.tif"
    path.write_bytes(b"II*\x00\x08\x00\x00\x00")
    with pytest.raises(TileError, match="stub.tif"):
        read_tile(path)
