"""Issue 11, item 1: pixel values become RGB according to what the file says its colours mean."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from rasterio.enums import ColorInterp

from pgssl_core.tiles import open_raster, read_tile

ROOF = (200, 40, 40)
PALETTE = {0: (90, 120, 70, 255), 1: (*ROOF, 255), 2: (128, 128, 128, 255)}


def _palette_tif(make_geotiff, table=PALETTE, dtype=np.uint8, name="palette.tif", **kwargs):
    import rasterio

    index = np.zeros((1, 32, 32), dtype)
    index[0, 8:16, 8:16] = 1  # a roof painted with index 1
    index[0, 20:, 20:] = 2
    path = make_geotiff(index, name=name, photometric="palette", **kwargs)
    with rasterio.open(path, "r+") as ds:
        ds.write_colormap(1, table)
    return path


def test_palette_geotiff_is_expanded_to_rgb(make_geotiff):
    # The example: the roof must read (200, 40, 40), not the raw index (1, 1, 1).
    tile = read_tile(_palette_tif(make_geotiff))
    assert tuple(tile.image[10, 10]) == ROOF
    assert tuple(tile.image[0, 0]) == (90, 120, 70)
    assert tuple(tile.image[25, 25]) == (128, 128, 128)
    assert tile.valid.all()


def test_palette_nodata_index_is_nodata_and_windows_agree(make_geotiff):
    # TIFF colour tables hold no alpha, so "no data" in a palette GeoTIFF is a declared nodata index.
    path = _palette_tif(make_geotiff, nodata=0)
    tile = read_tile(path)
    assert not tile.valid[0, 0] and tile.valid[10, 10]
    with open_raster(path) as src:  # windowed reads (splitting, prediction) expand the same way
        rgb, valid = src.read_window(8, 8, 8, 8)
    assert (rgb == ROOF).all() and valid.all()


def test_palette_band_with_explicit_band_map_is_still_expanded(make_geotiff):
    tile = read_tile(_palette_tif(make_geotiff), band_map=(1,))
    assert tuple(tile.image[10, 10]) == ROOF


def test_grey_and_grey_plus_alpha(make_geotiff):
    grey = np.full((1, 40, 40), 77, np.uint8)
    tile = read_tile(make_geotiff(grey, name="grey.tif"))
    assert (tile.image == 77).all()
    alpha = np.full((40, 40), 255, np.uint8)
    alpha[:, :10] = 0
    data = np.stack([grey[0], alpha])
    tile = read_tile(make_geotiff(data, name="greyalpha.tif", alpha="YES"))
    assert not tile.valid[:, :10].any() and tile.valid[:, 10:].all()
    assert (tile.image[:, 10:] == 77).all()


def test_rgba_uses_rgb_and_alpha(make_geotiff):
    data = np.zeros((4, 40, 40), np.uint8)
    data[:3] = np.array(ROOF, np.uint8)[:, None, None]
    data[3] = 255
    data[3, :5] = 0
    tile = read_tile(make_geotiff(data, name="rgba.tif", photometric="RGB", alpha="YES"))
    assert tuple(tile.image[20, 20]) == ROOF and not tile.valid[:5].any()


def test_ycbcr_jpeg_geotiff_reads_as_rgb(make_geotiff):
    data = np.zeros((3, 64, 64), np.uint8)
    data[:] = np.array(ROOF, np.uint8)[:, None, None]
    tile = read_tile(make_geotiff(data, name="ycbcr.tif", photometric="YCBCR", compress="JPEG"))
    assert np.abs(tile.image[32, 32].astype(int) - ROOF).max() <= 3  # lossy, but RGB, not Y/Cb/Cr


def test_cmyk_geotiff_reads_as_rgb(make_geotiff):
    cmyk = np.zeros((4, 40, 40), np.uint8)
    cmyk[0], cmyk[1], cmyk[2] = 255 - ROOF[0], 255 - ROOF[1], 255 - ROOF[2]  # K = 0
    tile = read_tile(make_geotiff(cmyk, name="cmyk.tif", photometric="CMYK"))
    assert tuple(tile.image[5, 5]) == ROOF and tile.valid.all()


def test_undefined_bands_follow_the_band_map(make_geotiff):
    data = np.stack([np.full((40, 40), v, np.uint8) for v in (10, 20, 30, 40, 50)])
    path = make_geotiff(data, name="multi.tif", colorinterp=[ColorInterp.undefined] * 5)
    assert tuple(read_tile(path, band_map=(5, 3, 1)).image[0, 0]) == (50, 30, 10)
    assert tuple(read_tile(path).image[0, 0]) == (10, 20, 30)  # no map: the first three bands


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_non_8_bit_neutral_grey_stays_grey_and_balance_is_kept(make_geotiff, dtype):
    rng = np.random.default_rng(1)
    grey = rng.uniform(500, 3000, (48, 48))
    red = grey.copy()
    red[:, :16] = 1200.0  # a neutral grey roof (R = G = B) ...
    green, blue = red.copy(), red.copy()
    red[:, 32:] *= 0.6  # ... and vegetation: green above red and blue
    blue[:, 32:] *= 0.5
    data = np.stack([red, green, blue]).astype(dtype)
    tile = read_tile(make_geotiff(data, name=f"scene_{np.dtype(dtype).name}.tif"))
    r, g, b = (tile.image[..., i].astype(int) for i in range(3))
    assert (r[:, :16] == g[:, :16]).all() and (g[:, :16] == b[:, :16]).all()
    assert (g[:, 32:] >= r[:, 32:]).all() and (r[:, 32:] >= b[:, 32:]).all()
    assert g[:, 32:].mean() > r[:, 32:].mean() + 20


def test_windowed_stretch_keeps_grey_grey(make_geotiff):
    band = np.tile(np.linspace(100, 4000, 64), (64, 1))
    data = np.stack([band, band, band * 1.0]).astype(np.uint16)
    with open_raster(make_geotiff(data, name="grey16.tif")) as src:
        ranges = src.stretch_ranges
        rgb, _ = src.read_window(0, 0, 64, 64)
    assert len(set(ranges.values())) == 1
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


def test_16_bit_png_colour_balance_is_kept(tmp_path):
    # Pillow writes 16-bit greyscale PNGs; a 16-bit grey ramp keeps its order and stays grey.
    ramp = np.tile(np.linspace(1000, 50000, 64).astype(np.uint16), (40, 1))
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    tile = read_tile(path)
    assert (tile.image[..., 0] == tile.image[..., 2]).all()
    assert np.all(np.diff(tile.image[5, :, 0].astype(int)) >= 0)
