"""read_tile on PNG, JPEG and WebP: modes, alpha, 16-bit, bombs, truncation, real OAM tiles."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pgssl_core.errors import TileError
from pgssl_core.tiles import read_tile

from .conftest import png_with_header


def _gradient_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)


def _save(tmp_path, array_or_image, name, **kw):
    im = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_png_rgb_is_exact(tmp_path):
    rgb = _gradient_rgb()
    tile = read_tile(_save(tmp_path, rgb, "plain.png"))
    np.testing.assert_array_equal(tile.image, rgb)
    assert tile.valid.all()
    assert (tile.meta.driver, tile.meta.bands, tile.meta.dtype) == ("PNG", 3, "uint8")
    assert not tile.georeferenced and tile.bounds is None
    assert tile.not_georeferenced_reason == "PNG has no world file and its name is not an XYZ tile address"


def test_png_rgba_drops_alpha_and_masks_transparent(tmp_path):
    rgba = np.concatenate([_gradient_rgb(), np.full((48, 64, 1), 255, np.uint8)], axis=-1)
    rgba[:12, :, 3] = 0
    tile = read_tile(_save(tmp_path, rgba, "rgba.png"))
    assert tile.meta.bands == 4
    assert not tile.valid[:12].any() and tile.valid[12:].all()
    assert tile.nodata_fraction == pytest.approx(0.25)
    np.testing.assert_array_equal(tile.image[12:], rgba[12:, :, :3])


def test_palette_png_with_transparency(tmp_path):
    im = Image.fromarray((np.arange(48 * 64).reshape(48, 64) % 4).astype(np.uint8), mode="L").convert("P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * 756)
    path = _save(tmp_path, im, "pal.png", transparency=3)
    tile = read_tile(path)
    assert tuple(tile.image[0, 0]) == (255, 0, 0) and tuple(tile.image[0, 1]) == (0, 255, 0)
    assert not tile.valid[0, 3] and tile.valid[0, 0]
    assert tile.nodata_fraction == pytest.approx(0.25)


def test_greyscale_png_becomes_grey_rgb(tmp_path):
    grey = _gradient_rgb()[..., 0]
    tile = read_tile(_save(tmp_path, grey, "grey.png"))
    for c in range(3):
        np.testing.assert_array_equal(tile.image[..., c], grey)


def test_16bit_png_is_stretched(tmp_path):
    band = np.tile(np.linspace(20000, 30000, 64).astype(np.uint16), (48, 1))
    path = tmp_path / "deep.png"
    Image.fromarray(band).save(path)
    tile = read_tile(path)
    assert tile.meta.dtype == "uint16"
    assert tile.image[0, 0, 0] <= 5 and tile.image[0, -1, 0] >= 250


@pytest.mark.parametrize(("fmt", "name", "driver"), [("JPEG", "a.jpg", "JPEG"), ("WEBP", "a.webp", "WEBP")])
def test_jpeg_and_webp(tmp_path, fmt, name, driver):
    rgb = np.full((48, 64, 3), (200, 100, 50), np.uint8)
    tile = read_tile(_save(tmp_path, rgb, name, format=fmt, quality=95))
    assert tile.meta.driver == driver and tile.valid.all()
    assert np.abs(tile.image.astype(int) - rgb).max() <= 4  # lossy codecs


def test_cmyk_jpeg_converts_to_rgb(tmp_path):
    im = Image.fromarray(np.full((40, 40, 3), (0, 0, 255), np.uint8)).convert("CMYK")
    tile = read_tile(_save(tmp_path, im, "cmyk.jpg", quality=95))
    assert tile.image[5, 5, 2] > 200 and tile.image[5, 5, 0] < 50


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "t.png"), ("JPEG", "t.jpg"), ("WEBP", "t.webp")])
def test_truncated_images(tmp_path, fmt, name):
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(buf, format=fmt)
    path = tmp_path / name
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(TileError, match="truncated or corrupt") as info:
        read_tile(path)
    assert "\n" not in str(info.value) and str(tmp_path) not in str(info.value)


def test_decompression_bomb_refused_before_decoding(tmp_path, monkeypatch):
    # 30,000 x 30,000 px claimed (900 Mpx) in a file of ~100 bytes.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_header(30_000, 30_000))
    assert path.stat().st_size < 200
    loaded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: loaded.append(1))
    with pytest.raises(TileError, match="decompression bomb"):
        read_tile(path)
    assert loaded == []


def test_pixel_limit_below_pillow_limit(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_with_header(9000, 9000))  # 81 Mpx: over our 64 Mpx, under Pillow's own check
    with pytest.raises(TileError, match="Mpx limit"):
        read_tile(path)


def test_max_pixels_argument(tmp_path):
    path = _save(tmp_path, _gradient_rgb(), "small.png")
    with pytest.raises(TileError, match="decompression bomb"):
        read_tile(path, max_pixels=1000)


@pytest.mark.parametrize(("w", "h"), [(70_000, 1), (1, 2_000_000_000), (0, 64)])
def test_absurd_header_dimensions(tmp_path, w, h):
    path = tmp_path / "absurd.png"
    path.write_bytes(png_with_header(w, h))
    with pytest.raises(TileError, match="absurd|decompression bomb|corrupt"):
        read_tile(path)


def test_small_image_refused(tmp_path):
    with pytest.raises(TileError, match="at least 32 px"):
        read_tile(_save(tmp_path, np.zeros((31, 64, 3), np.uint8), "tiny.png"))


def test_fully_transparent_png_refused(tmp_path):
    with pytest.raises(TileError, match="nodata"):
        read_tile(_save(tmp_path, np.zeros((40, 40, 4), np.uint8), "clear.png"))


def test_real_oam_tiles(oam_dir):
    manifest = pd.read_csv(oam_dir / "manifest.csv")
    for row in manifest.groupby("zoom").head(1).itertuples():
        tile = read_tile(oam_dir / "images" / row.file)
        assert tile.image.shape == (256, 256, 3) and tile.image.dtype == np.uint8
        assert tile.georeferenced and tile.crs.to_epsg() == 3857
        pixel_m = (tile.bounds[2] - tile.bounds[0]) / 256
        assert pixel_m == pytest.approx({19: 0.2986, 20: 0.1493, 21: 0.0746}[row.zoom], rel=1e-3)
        assert tile.valid.mean() > 0.5


def test_real_oam_tiles_mixed_content(oam_dir):
    """Most shared '.png' tiles hold JPEG data: the magic bytes, not the name, decide the decoder."""
    files = sorted((oam_dir / "images").glob("*.png"))[::50]
    drivers = {read_tile(path).meta.driver for path in files}
    assert drivers == {"PNG", "JPEG"}
