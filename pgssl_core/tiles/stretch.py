"""Band selection and conversion of any pixel type to 8-bit RGB.

uint8 bands pass through unchanged. Other types (uint16, int16, float...) are stretched linearly
between robust low/high percentiles of the VALID pixels, so a few hot pixels or the nodata value do
not flatten the picture. ONE range is shared by the red, green and blue bands (``shared_range``):
a per-band stretch would turn a neutral grey roof into a colour and erase the relative balance of the
bands, which is information (vegetation is greener than a roof). The range is computed once per
raster (see ``raster.RasterSource``) so that every window of a large raster gets the same colours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pgssl_core.errors import TileError

#: Default robust range (percent) for the stretch: 2nd to 98th percentile of valid pixels.
STRETCH_PERCENTILES: tuple[float, float] = (2.0, 98.0)


def resolve_band_map(band_map: Sequence[int] | None, band_count: int, name: str,
                     default: Sequence[int] | None = None, alpha: bool = False) -> tuple[int, int, int]:
    """1-based source band indices for R, G, B.

    ``band_map`` of length 1 is replicated to grey RGB; length 3 is used as is. Without a map,
    ``default`` is used when given, else a 1- or 2-band source (grey, grey+alpha) is replicated and a
    3+-band source uses bands 1, 2, 3. Raises ``TileError`` for indices outside ``1..band_count``.
    ``alpha``: the file has one more band after the ``band_count`` colour bands, its transparency, which
    marks the valid pixels and cannot be mapped; the error then counts it too, as ``inspect`` does.
    """
    if band_map is None:
        if default is not None:
            band_map = default
        else:
            band_map = (1, 1, 1) if band_count < 3 else (1, 2, 3)
    bands = tuple(int(b) for b in band_map)
    if len(bands) == 1:
        bands = bands * 3
    if len(bands) != 3:
        raise TileError(f"{name}: band map {tuple(band_map)} must name 1 or 3 bands (R, G, B)")
    bad = [b for b in bands if not 1 <= b <= band_count]
    if bad:
        has = f"{band_count} band(s)" if not alpha else (
            f"{band_count + 1} bands: {band_count} colour band(s) and band {band_count + 1}, its alpha "
            "(transparency, which marks the valid pixels and cannot be shown)")
        raise TileError(f"{name}: band map {bands} asks for band {bad[0]} but the file has {has}")
    return bands[0], bands[1], bands[2]


def needs_stretch(dtype: np.dtype | str) -> bool:
    """True for every pixel type except uint8."""
    return np.dtype(dtype) != np.uint8


def robust_range(values: np.ndarray, valid: np.ndarray,
                 percentiles: tuple[float, float] = STRETCH_PERCENTILES) -> tuple[float, float]:
    """``(low, high)`` percentiles of ``values[valid]`` (any shape, same shape as ``valid``).

    Non-finite values are ignored. Returns ``(0.0, 1.0)`` when there is no valid pixel and widens
    a constant band to a range of 1 so the stretch never divides by zero.
    """
    data = values[valid & np.isfinite(values)] if values.dtype.kind == "f" else values[valid]
    if data.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(data.astype(np.float64), percentiles)
    if not high > low:
        high = low + 1.0
    return float(low), float(high)


def shared_range(bands: dict[int, np.ndarray], indexes: Sequence[int], valid: np.ndarray,
                 percentiles: tuple[float, float] = STRETCH_PERCENTILES) -> dict[int, tuple[float, float]]:
    """One ``(low, high)`` range for every band in ``indexes``, from their valid pixels pooled.

    ``bands`` maps 1-based index -> array of the same shape as ``valid``. Returns index -> range
    (the same tuple for each band), the form ``to_rgb8`` takes. Equal band values stay equal after
    the stretch (grey stays grey) and the ratio between bands keeps its order.
    """
    indexes = sorted(set(indexes))
    pooled = np.stack([np.asarray(bands[i]) for i in indexes])
    common = robust_range(pooled, np.broadcast_to(valid, pooled.shape), percentiles)
    return {i: common for i in indexes}


def stretch_to_uint8(band: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``band`` (H, W) of any numeric type linearly from [low, high] to uint8 [0, 255].

    Values outside the range are clipped; NaN becomes 0.
    """
    scaled = (band.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_rgb8(bands: dict[int, np.ndarray], band_map: tuple[int, int, int],
            ranges: dict[int, tuple[float, float]] | None, valid: np.ndarray) -> np.ndarray:
    """Assemble an (H, W, 3) uint8 RGB image from source bands.

    ``bands`` maps 1-based band index -> (H, W) array; ``ranges`` maps band index -> (low, high)
    for the stretch, or is ``None`` for uint8 data (passed through). Invalid pixels become 0 so the
    output does not depend on whatever the file stores under its nodata mask.
    """
    converted: dict[int, np.ndarray] = {}
    for index in set(band_map):
        band = bands[index]
        if ranges is None:
            converted[index] = band.astype(np.uint8, copy=False)
        else:
            converted[index] = stretch_to_uint8(band, *ranges[index])
    rgb = np.stack([converted[i] for i in band_map], axis=-1)
    rgb[~valid] = 0
    return rgb
