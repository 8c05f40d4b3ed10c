"""PNG, JPEG and WebP reading with Pillow, restricted to the sniffed format.

Pillow only ever gets ``formats=[<the sniffed format>]``, so EPS, PSD and the like are never
parsed. The pixel count is checked on the header size (Pillow opens lazily) before decoding.
"""

from __future__ import annotations

import contextlib
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from rasterio.crs import CRS

from pgssl_core.errors import TileError, first_line
from pgssl_core.tiles.formats import DRIVER_NAMES, MAX_TILE_PIXELS, PILLOW_FORMATS, check_dimensions, check_min_size
from pgssl_core.tiles.georef import Georef, georeference_image
from pgssl_core.tiles.stretch import needs_stretch, resolve_band_map, shared_range, to_rgb8
from pgssl_core.tiles.tile import Tile, TileMeta

# Modes converted to a mode whose array we understand: (colour bands..., optional alpha).
_CONVERT = {"1": "L", "P": "RGB", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "CMYK": "RGB",
            "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "RGBX": "RGB", "I;16L": "I;16"}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)
# Stored sample type per Pillow mode (everything else is 8-bit).
_MODE_DTYPES = {"1": "bool", "I;16": "uint16", "I;16B": "uint16", "I;16L": "uint16", "I": "int32", "F": "float32"}


@contextlib.contextmanager
def _decoding(path: Path, driver: str) -> Iterator[None]:
    """Turn every Pillow failure inside the block into a one-line ``TileError`` (file name, no folders)."""
    name = path.name
    try:
        with warnings.catch_warnings():
            # Our own pixel limit is checked before decoding; Pillow's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except TileError:
        raise
    except Image.DecompressionBombError:
        assert Image.MAX_IMAGE_PIXELS is not None  # Pillow raises it only while it has a pixel limit
        raise TileError(f"{name}: header claims more pixels than the decoder allows "
                        f"({2 * Image.MAX_IMAGE_PIXELS:,} px, and one tile may have {MAX_TILE_PIXELS:,} px: "
                        "MAX_TILE_PIXELS); "
                        "refused as a possible decompression bomb") from None
    except _DECODE_ERRORS as exc:
        detail = first_line(exc)
        detail = detail.replace(str(path), name)  # never echo server-side folders to the user
        raise TileError(f"{name}: {driver} file is truncated or corrupt ({detail})") from None


def _normalised(im: Image.Image) -> Image.Image:
    """``im`` in one of L, LA, RGB, RGBA, I;16*, I, F (palette transparency becomes alpha)."""
    if im.mode == "P" and "transparency" in im.info:
        return im.convert("RGBA")
    target = _CONVERT.get(im.mode)
    return im.convert(target) if target else im


def _has_alpha(mode: str) -> bool:
    return mode in ("LA", "RGBA")


def _colour_and_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour channels (H, W, C) and the alpha channel (H, W) or None."""
    arr = np.asarray(im)
    if arr.ndim == 2:
        return arr[..., None], None
    if _has_alpha(im.mode):
        return arr[..., :-1], arr[..., -1]
    return arr, None


def read_plain_image(path: Path, fmt: str, band_map: Sequence[int] | None, max_pixels: int,
                     default_crs: CRS | str | None = None) -> Tile:
    """Read a PNG/JPEG/WebP whole as a ``Tile`` (not yet checked for emptiness; see ``validate_tile``)."""
    name, driver = path.name, DRIVER_NAMES[fmt]
    with _decoding(path, driver), Image.open(path, formats=[PILLOW_FORMATS[fmt]]) as im:
        width, height = im.size  # from the header: nothing is decoded yet
        check_dimensions(name, fmt, width, height, max_pixels)
        check_min_size(name, width, height)
        stored_dtype = _MODE_DTYPES.get(im.mode, "uint8")
        im.load()
        normal = _normalised(im)
        # Bands as read: a palette counts its colours, so that inspect and the band-map errors agree.
        bands_in_file = len(normal.getbands())
        colour, alpha = _colour_and_alpha(normal)

    valid = np.ones((height, width), dtype=bool) if alpha is None else alpha > 0
    bands = {i + 1: colour[..., i] for i in range(colour.shape[2])}
    rgb_map = resolve_band_map(band_map, len(bands), name, alpha=alpha is not None)
    ranges = None
    if needs_stretch(colour.dtype):
        ranges = shared_range(bands, rgb_map, valid)
    georef = georeference_image(path, driver, width, height, default_crs)
    meta = TileMeta(width=width, height=height, bands=bands_in_file, dtype=stored_dtype, driver=driver,
                    nodata=None, source_name=name)
    return Tile(image=to_rgb8(bands, rgb_map, ranges, valid), valid=valid, transform=georef.transform,
                crs=georef.crs, meta=meta, not_georeferenced_reason=georef.reason)


def plain_image_size(path: Path, fmt: str) -> tuple[int, int]:
    """``(width, height)`` px from the header only (no decoding)."""
    with _decoding(path, DRIVER_NAMES[fmt]), Image.open(path, formats=[PILLOW_FORMATS[fmt]]) as im:
        return im.size


def check_plain_image(path: Path, fmt: str, band_map: Sequence[int] | None, max_pixels: int,
                      default_crs: CRS | str | None = None) -> tuple[int, int, Georef]:
    """Header-level checks of a PNG/JPEG/WebP without decoding its pixels: ``(width, height, georef)``.

    Size limits, the band map against the colour bands ``read_plain_image`` would produce, and the
    file's integrity as far as Pillow's ``verify`` sees it (PNG chunk checksums, truncation).
    Raises ``TileError`` (one line) like ``read_plain_image``.
    """
    name, driver = path.name, DRIVER_NAMES[fmt]
    with _decoding(path, driver), Image.open(path, formats=[PILLOW_FORMATS[fmt]]) as im:
        width, height = im.size
        check_dimensions(name, fmt, width, height, max_pixels)
        check_min_size(name, width, height)
        mode = "RGBA" if im.mode == "P" and "transparency" in im.info else _CONVERT.get(im.mode, im.mode)
        colour_bands = Image.getmodebands(mode) - (1 if _has_alpha(mode) else 0)
        resolve_band_map(band_map, colour_bands, name, alpha=_has_alpha(mode))
        im.verify()
    return width, height, georeference_image(path, driver, width, height, default_crs)
