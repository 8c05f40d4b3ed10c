"""Reading label (ground-truth) masks as binary building masks.

A label mask is binary by construction: 0 = background, 1 = building. Files come as 0/1 or 0/255
PNGs and GeoTIFFs, sometimes as JPEGs. Lossy compression (JPEG, lossy WebP, JPEG-in-TIFF) smears
building edges into grey values, so "any non-zero value is building" inflates buildings (a
quality-75 JPEG of a 0/255 mask gained 55% building pixels that way). Rules:

- a clean mask (values within {0, 1, 255}) is read as it is: 1 and 255 are building;
- anything else is thresholded at half its value range (above (min + max) / 2: 127.5 for a 0/255
  mask, 0.5 for a 0/1 or 0..1 float mask) and gets a ``LabelMaskWarning`` naming the file and the
  odd values;
- a lossy format gets a ``LabelMaskWarning`` saying why (edges are not exact) even when its values
  look clean;
- palette PNGs/GeoTIFFs are read as their indices (a label is an index, not a colour).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import rasterio

from pgssl_core.errors import TileError, first_line
from pgssl_core.tiles.formats import PILLOW_FORMATS, sniff_format
from pgssl_core.tiles.georef import ungeoreferenced_ok
from pgssl_core.tiles.raster import GDAL_READ_ERRORS

#: Values a clean label mask may hold: 0 background; 1 or 255 building.
CLEAN_MASK_VALUES = frozenset({0, 1, 255})
#: GeoTIFF compressions that lose information (GDAL's names, as rasterio reports them).
LOSSY_TIFF_COMPRESSIONS = frozenset({"jpeg", "webp", "lerc", "lerc_deflate", "lerc_zstd", "jxl"})


class LabelMaskWarning(UserWarning):
    """A label mask was read, but something about it deserves the user's attention (file named)."""


def half_range_threshold(values: np.ndarray) -> float:
    """The building threshold of a mask: the middle of its value range, ``(min + max) / 2``.

    A 0/255 mask (lossy or not) gives 127.5, a 0/1 mask 0.5, a 0..1 float mask 0.5. Non-finite
    values are ignored. A constant mask gives its value (then ``> 0`` decides; see ``threshold_mask``).
    """
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return 0.0
    return (float(finite.min()) + float(finite.max())) / 2.0


def threshold_mask(values: np.ndarray) -> np.ndarray:
    """(H, W) uint8 0/1: building where the value is above the middle of the mask's value range."""
    threshold = half_range_threshold(values)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size and float(finite.min()) == float(finite.max()):
        threshold = 0.0  # a constant mask: all building when non-zero, all background when zero
    with np.errstate(invalid="ignore"):
        return (values > threshold).astype(np.uint8)


def binarize_mask(values: np.ndarray, name: str) -> np.ndarray:
    """(H, W) uint8 0/1 from a raw (H, W) mask array; warns (``LabelMaskWarning``) on odd values."""
    values = np.asarray(values)
    if values.dtype == np.bool_:
        return values.astype(np.uint8)
    present = np.unique(values[np.isfinite(values)] if values.dtype.kind == "f" else values)
    if set(present.tolist()) <= CLEAN_MASK_VALUES:
        return (values > 0).astype(np.uint8)
    threshold = half_range_threshold(values)
    odd = [v for v in present.tolist() if v not in CLEAN_MASK_VALUES]
    sample = ", ".join(f"{v:g}" for v in odd[:5]) + (", ..." if len(odd) > 5 else "")
    warnings.warn(f"{name}: label mask holds values other than 0, 1 and 255 ({sample}); read as building "
                  f"where the value is above {threshold:g} (half the value range). A lossy or resampled mask?",
                  LabelMaskWarning, stacklevel=3)
    return threshold_mask(values)


def _lossy_warning(name: str, reason: str) -> None:
    warnings.warn(f"{name}: label mask is stored {reason}, which blurs building edges; save masks as PNG or "
                  "deflate GeoTIFF. Thresholded at half the value range.", LabelMaskWarning, stacklevel=3)


def _read_geotiff_band(path: Path) -> tuple[np.ndarray, str | None]:
    try:
        with ungeoreferenced_ok():
            with rasterio.open(path) as ds:
                compression = ds.compression.name.lower() if ds.compression is not None else None
                return ds.read(1), compression
    except GDAL_READ_ERRORS as exc:
        detail = first_line(exc)
        raise TileError(f"{path.name}: label mask is unreadable ({detail.replace(str(path), path.name)})") from None


def _read_plain_band(path: Path, fmt: str) -> tuple[np.ndarray, bool]:
    from PIL import Image

    try:
        with Image.open(path, formats=[PILLOW_FORMATS[fmt]]) as im:
            lossy = fmt == "jpeg" or (fmt == "webp" and not im.info.get("lossless", False))
            if im.mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr"):
                arr = np.asarray(im.convert("L") if im.mode != "LA" else im.getchannel(0))
            else:
                arr = np.asarray(im)  # L, P (indices), I;16, I, F, 1
    except (OSError, SyntaxError, ValueError) as exc:
        raise TileError(f"{path.name}: label mask is unreadable ({first_line(exc)})") from None
    return arr, lossy


def read_label_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A label mask file (PNG, GeoTIFF, JPEG, WebP) as (H, W) uint8: 0 background, 1 building.

    Colour masks are read as their luminance; palette masks as their indices. Thresholding and
    warnings follow the module doc. Raises ``TileError`` (one line, file name) for an unreadable file.
    """
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "gtiff":
        values, compression = _read_geotiff_band(path)
        lossy = compression in LOSSY_TIFF_COMPRESSIONS
        reason = f"as a {compression}-compressed GeoTIFF"
    else:
        values, lossy = _read_plain_band(path, fmt)
        reason = "as JPEG" if fmt == "jpeg" else "as lossy WebP"
    if lossy:
        _lossy_warning(path.name, reason)
        return threshold_mask(values)
    return binarize_mask(values, path.name)
