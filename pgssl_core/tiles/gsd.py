"""Ground sampling distance (GSD): how many metres of ground one pixel covers, and resampling to a
working GSD.

The model is trained and applied at one *working GSD* (``DEFAULT_WORKING_GSD_M``); every tile or raster
is resampled to it on read and predictions go back to the source grid. The resampling itself is GDAL's
(``rasterio.warp.reproject`` for arrays in memory, ``WarpedVRT`` for files): no resampler of our own.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TypeVar

import affine
import numpy as np
from pyproj import Geod, Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from pgssl_core.errors import PgsslError

#: Default working GSD in metres per pixel. 0.3 m is zoom 19 of the shared OAM tiles and inside the
#: 0.25-0.6 m range usual for roof mapping; chosen on the ``val`` split (see assets/models/README.md).
DEFAULT_WORKING_GSD_M: float = 0.3
#: Resampling a tile by less than this relative amount is skipped (a 1% change moves no roof edge).
GSD_TOLERANCE: float = 0.01
#: Sane GSD range (m/px); outside it the value is surely a unit mistake (degrees, cm).
MIN_GSD_M, MAX_GSD_M = 0.01, 100.0

#: Below this many working pixels on a side an input is too small for the model: a U-Net whose encoder
#: has depth 5 downsamples by 2**5 = 32, so its deepest features would cover less than one pixel.
MIN_WORKING_SIDE_PX: int = 32

#: The base model's training views imitate sources up to this many times coarser than the working GSD (profile
#: ``base``'s ``degrade``): about 1 m at 0.3 m. Imagery coarser than that is outside what the model has seen.
MAX_SOURCE_COARSENING: float = 3.3

#: Largest upsampling (source GSD / working GSD) that :func:`suggested_working_gsd` asks of imagery. Read at
#: 0.3 m, 1 m satellite imagery is blown up 3.3x and every roof edge smears over three working pixels, unlike
#: anything the base model learnt. Measured with ``benchmarks/new_place.py`` on ``dubai_satellite`` (1 m, 31 test
#: tiles): base model, no labels, IoU 0.170 at 0.3 m, 0.225 at 0.5 m, 0.240 at 0.7 m, 0.238 at 1.0 m; 20 labels
#: (supervised, profile ``quick``'s 300 steps, seeds 0 and 1): 0.331 / 0.170 at 0.3 m, 0.393 / 0.398 at 0.5 m,
#: 0.415 / 0.421 at 0.7 m, 0.434 / 0.366 at 1.0 m. 1.5x puts 1 m imagery at 0.7 m, the best of those; imagery at
#: 0.45 m or finer keeps the model's own GSD (the Beijing demo's 0.4 m, drone and most aerial imagery).
MAX_SUGGESTED_UPSAMPLING: float = 1.5
#: The suggested working GSD is rounded up to a multiple of this (m/px), so it reads as a setting.
SUGGESTED_GSD_STEP_M: float = 0.05

_GEOD = Geod(ellps="WGS84")
#: A fixed CRS for in-memory resampling: GDAL's warper wants one, source and target share it.
_ARRAY_CRS = CRS.from_epsg(3857)


class UnresolvedGsdWarning(UserWarning):
    """A tile is used at native resolution because its GSD is unknown."""


class CoarseGsdWarning(UserWarning):
    """The working GSD shrinks an input below ``MIN_WORKING_SIDE_PX`` a side (its mask means nothing), or the
    input is more than ``MAX_SOURCE_COARSENING`` x coarser than the working GSD (expect missed buildings)."""


class GsdError(PgsslError):
    """A GSD that cannot be right (non-positive, not finite, or far outside 1 cm .. 100 m)."""


def check_gsd(gsd_m: float, what: str = "GSD") -> float:
    """``gsd_m`` as float if it lies in ``[MIN_GSD_M, MAX_GSD_M]``; else ``GsdError`` (one line)."""
    value = float(gsd_m)
    if not math.isfinite(value) or not MIN_GSD_M <= value <= MAX_GSD_M:
        raise GsdError(f"{what} must be between {MIN_GSD_M} and {MAX_GSD_M} m per pixel, got {gsd_m}")
    return value


def _metres_per_pixel(value: str | float, flag: str, alternatives: str = "") -> float:
    try:
        number = float(value)
    except ValueError:
        raise GsdError(f"{flag} must be a number of metres per pixel{alternatives}, got {value!r}") from None
    return check_gsd(number, flag)


#: The type of ``parse_gsd_option``'s default, which it returns as given (a number, None or e.g. "model").
_GsdDefault = TypeVar("_GsdDefault", bound=float | str | None)


def parse_gsd_option(value: str | float | None, default: _GsdDefault,
                     flag: str = "--gsd") -> float | _GsdDefault | None:
    """A ``--gsd`` style option: omitted -> ``default``; ``native`` -> None (no resampling); a number of
    metres per pixel -> that number, checked. Anything else is a ``GsdError`` naming ``flag``."""
    if value is None:
        return default
    if str(value).strip().lower() == "native":
        return None
    return _metres_per_pixel(value, flag, " or 'native'")


def parse_stated_gsd(value: str | float | None, flag: str = "--tile-gsd") -> float | None:
    """A stated GSD (m/px) for tiles without a georeference: None when omitted, else a checked number
    (``GsdError`` naming ``flag`` for text, zero, negative, NaN or values outside 1 cm .. 100 m)."""
    return None if value is None else _metres_per_pixel(value, flag)


def ground_gsd_m(transform: affine.Affine | None, crs: CRS | None, width: int, height: int) -> float | None:
    """Ground metres per pixel at the centre of a ``width`` x ``height`` px grid; ``None`` without a georeference.

    Measured on the WGS84 ellipsoid (geodesic distance between the centre pixel's edge midpoints), so it
    is right for any CRS: Web Mercator's scale factor at the tile's latitude, degrees, feet, UTM. The
    mean of the pixel's width and height is returned (they differ only for non-square pixels).
    """
    if transform is None or crs is None:
        return None
    cx, cy = width / 2.0, height / 2.0
    pts = [transform @ (cx - 0.5, cy), transform @ (cx + 0.5, cy),
           transform @ (cx, cy - 0.5), transform @ (cx, cy + 0.5)]
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform([p[0] for p in pts], [p[1] for p in pts])
    if not all(math.isfinite(v) for v in (*lon, *lat)):
        return None
    _, _, dx = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, dy = _GEOD.inv(lon[2], lat[2], lon[3], lat[3])
    gsd = (abs(dx) + abs(dy)) / 2.0
    return gsd if gsd > 0 else None


def needs_resampling(source_gsd_m: float, working_gsd_m: float) -> bool:
    """True when the two GSDs differ by more than ``GSD_TOLERANCE`` (relative)."""
    return abs(source_gsd_m / working_gsd_m - 1.0) > GSD_TOLERANCE


def resampled_shape(height: int, width: int, source_gsd_m: float, working_gsd_m: float) -> tuple[int, int]:
    """(rows, cols) of a ``height`` x ``width`` px grid at ``source_gsd_m`` once resampled to ``working_gsd_m``."""
    f = source_gsd_m / working_gsd_m
    return max(1, round(height * f)), max(1, round(width * f))


def warn_if_too_coarse(shape: tuple[int, int], source_gsd_m: float, working_gsd_m: float, name: str = "") -> None:
    """Warn (``CoarseGsdWarning``) when a resampled ``shape`` = (rows, cols) is under ``MIN_WORKING_SIDE_PX``
    a side: a working GSD much coarser than the input (e.g. ``--gsd 100`` on a 0.3 m tile) would
    otherwise give an empty mask without a word."""
    if min(shape) < MIN_WORKING_SIDE_PX:
        warnings.warn(f"{name or 'the input'} is only {shape[1]} x {shape[0]} px once resampled from "
                      f"{source_gsd_m:.3g} m to the working GSD of {working_gsd_m:g} m (the model needs at least "
                      f"{MIN_WORKING_SIDE_PX} px a side): its mask will be empty or meaningless; use a finer GSD",
                      CoarseGsdWarning, stacklevel=3)


def warn_if_source_too_coarse(source_gsd_m: float, working_gsd_m: float, name: str = "") -> None:
    """Warn (``CoarseGsdWarning``) when the source is more than ``MAX_SOURCE_COARSENING`` x coarser than the
    working GSD: it is upsampled to the working grid without a word otherwise, and its buildings are blurs
    the model was never trained on (e.g. 3 m imagery read at 0.3 m)."""
    ratio = source_gsd_m / working_gsd_m
    if ratio > MAX_SOURCE_COARSENING * 1.1:  # 10% slack: the range was set for 1 m at 0.3 m, which is 3.33x
        warnings.warn(f"{name or 'the input'} is at {source_gsd_m:.3g} m per pixel, {ratio:.1f}x coarser than the "
                      f"working GSD of {working_gsd_m:g} m; the model was trained on sources up to "
                      f"{MAX_SOURCE_COARSENING:g}x coarser ({MAX_SOURCE_COARSENING * working_gsd_m:.2g} m), so expect "
                      f"missed buildings", CoarseGsdWarning, stacklevel=3)


def warp_band(band: np.ndarray, src_transform: affine.Affine, dst_transform: affine.Affine,
              shape: tuple[int, int], resampling: Resampling) -> np.ndarray:
    """One (H, W) band warped by GDAL onto a (rows, cols) ``shape`` grid, both grids given by their
    transforms in one shared planar frame (e.g. source pixel units); cells outside the source are 0."""
    out = np.zeros(shape, dtype=band.dtype)
    reproject(band, out, src_transform=src_transform, src_crs=_ARRAY_CRS, dst_transform=dst_transform,
              dst_crs=_ARRAY_CRS, resampling=resampling)
    return out


#: Origin of the planar frame used for in-memory warps: GDAL's warper returned nothing for grids that
#: start at (0, 0), so pixel frames are shifted away from the CRS origin.
FRAME_ORIGIN: tuple[float, float] = (1.0e5, 1.0e5)


def pixel_frame(col_off: float = 0.0, row_off: float = 0.0, size_x: float = 1.0, size_y: float = 1.0) -> affine.Affine:
    """Transform of a grid in the in-memory warp frame: top-left at source pixel (col_off, row_off),
    cells of ``size_x`` x ``size_y`` source pixels."""
    x0, y0 = FRAME_ORIGIN
    return affine.Affine(size_x, 0, x0 + col_off, 0, -size_y, y0 - row_off)


def _warp(band: np.ndarray, shape: tuple[int, int], resampling: Resampling) -> np.ndarray:
    """One (H, W) band warped by GDAL to ``shape``; both grids cover the same extent."""
    h, w = band.shape
    return warp_band(band, pixel_frame(), pixel_frame(size_x=w / shape[1], size_y=h / shape[0]), shape, resampling)


def image_resampling(source_gsd_m: float, working_gsd_m: float) -> Resampling:
    """Image resampling from ``source_gsd_m`` to ``working_gsd_m`` (m/px): average to shrink, bilinear to enlarge."""
    # Averaging when shrinking keeps thin roof edges from aliasing; bilinear when enlarging.
    return Resampling.average if source_gsd_m < working_gsd_m else Resampling.bilinear


def resample_image(image: np.ndarray, source_gsd_m: float, working_gsd_m: float) -> np.ndarray:
    """Image (H, W, C) uint8 at ``source_gsd_m`` -> (H', W', C) uint8 at ``working_gsd_m`` (GDAL warper)."""
    if not needs_resampling(source_gsd_m, working_gsd_m):
        return image
    shape = resampled_shape(image.shape[0], image.shape[1], source_gsd_m, working_gsd_m)
    warn_if_too_coarse(shape, source_gsd_m, working_gsd_m)
    how = image_resampling(source_gsd_m, working_gsd_m)
    bands = [_warp(image[..., c].astype(np.float32), shape, how) for c in range(image.shape[-1])]
    return np.clip(np.rint(np.stack(bands, axis=-1)), 0, 255).astype(np.uint8)


def resample_fraction(values: np.ndarray, source_gsd_m: float, working_gsd_m: float) -> np.ndarray:
    """A float (H, W) map of fractions in [0, 1] (e.g. validity, probability) resampled to the working GSD."""
    if not needs_resampling(source_gsd_m, working_gsd_m):
        return values.astype(np.float32, copy=False)
    shape = resampled_shape(values.shape[0], values.shape[1], source_gsd_m, working_gsd_m)
    return _warp(values.astype(np.float32), shape, image_resampling(source_gsd_m, working_gsd_m))


def resize_fraction(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A float (H, W) map resized by GDAL (bilinear) to ``shape`` = (rows, cols) over the same extent."""
    return _warp(values.astype(np.float32), shape, Resampling.bilinear)


def resample_label_mask(mask: np.ndarray, source_gsd_m: float, working_gsd_m: float,
                        ignore: int = 255) -> np.ndarray:
    """Label mask (H, W) uint8 coded 0/1/``ignore`` resampled to the working GSD.

    A target pixel is labelled when at least half of the source pixels under it are labelled, and is a
    building when buildings hold at least half of those labelled pixels (area-weighted majority).
    """
    if not needs_resampling(source_gsd_m, working_gsd_m):
        return mask
    labelled = resample_fraction((mask != ignore).astype(np.float32), source_gsd_m, working_gsd_m)
    building = resample_fraction((mask == 1).astype(np.float32), source_gsd_m, working_gsd_m)
    out = np.where(building >= 0.5 * np.maximum(labelled, 1e-6), 1, 0).astype(np.uint8)
    out[labelled < 0.5] = ignore
    return out


def tile_gsd_m(transform: affine.Affine | None, crs: CRS | None, width: int, height: int, stated_gsd_m: float | None,
               name: str = "") -> float | None:
    """The GSD to use for one tile: measured from its georeference, else the one the user stated.

    Returns ``None`` (the tile stays at native resolution) when neither is known, with a warning that
    names the tile, so that a caller can show it.
    """
    measured = ground_gsd_m(transform, crs, width, height)
    if measured is not None:
        return measured
    if stated_gsd_m is not None:
        return check_gsd(stated_gsd_m, "the stated GSD of tiles without georeference")
    warnings.warn(f"{name or 'a tile'} has no georeference and no GSD was stated: used at native resolution "
                  "(state one with --tile-gsd or the project's GSD setting)", UnresolvedGsdWarning, stacklevel=2)
    return None



def suggested_working_gsd(source_gsds_m: Sequence[float], model_gsd_m: float = DEFAULT_WORKING_GSD_M) -> float:
    """The working GSD (m/px) to read imagery at ``source_gsds_m`` (m/px, one per tile or raster) with a model
    trained at ``model_gsd_m``.

    The model's own GSD, unless the median source is more than ``MAX_SUGGESTED_UPSAMPLING`` x coarser: then the
    median divided by that factor, rounded up to ``SUGGESTED_GSD_STEP_M`` (1 m imagery: 0.7 m; within
    ``GSD_TOLERANCE`` of a step counts as on it). No sources:
    the model's GSD. Raises ``GsdError`` for a GSD outside 1 cm .. 100 m.
    """
    model = check_gsd(model_gsd_m, "the model's GSD")
    if not source_gsds_m:
        return model
    median = float(np.median([check_gsd(g, "a source GSD") for g in source_gsds_m]))
    # rounded up, less the 1% GSD_TOLERANCE: a UTM tile's 1.2 m measures 1.2004 m on the ellipsoid
    steps = math.ceil(median / MAX_SUGGESTED_UPSAMPLING * (1 - GSD_TOLERANCE) / SUGGESTED_GSD_STEP_M)
    return max(model, round(steps * SUGGESTED_GSD_STEP_M, 6))
