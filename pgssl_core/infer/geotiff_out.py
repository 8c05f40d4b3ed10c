"""Encoding and writing of prediction GeoTIFFs (probability 0..254 or 0/1 mask, nodata 255).

Probability is stored as ``round(p * 254)`` so that 255 stays free for nodata; the band's
scale is set to 1/254 so GDAL-aware readers recover p directly. The encoding's constants are in
:mod:`pgssl_core.tiles.prediction_format`, which the readers (footprints) import without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.crs import CRS

from pgssl_core.errors import PgsslError
from pgssl_core.tiles.prediction_format import NODATA, OUTPUT_TAG, OUTPUTS, PROB_SCALE

BLOCK: int = 256  # px, internal tile size of the output


def encode(prob: np.ndarray, valid: np.ndarray, output: str, threshold: float) -> np.ndarray:
    """uint8 band from float32 probabilities (H, W) and validity (H, W): invalid pixels become ``NODATA``."""
    if output == "probability":
        scaled = prob * PROB_SCALE
        scaled += 0.5  # round half up; prob is in [0, 1] so no negative values to care about
        band = scaled.astype(np.uint8)
    else:
        band = (prob >= threshold).astype(np.uint8)
    band[~valid] = NODATA
    return band


def check_output(output: str, threshold: float) -> None:
    """Check the output kind and the probability threshold.

    Raises:
        PgsslError: ``output`` is not one of :data:`OUTPUTS`, or ``threshold`` is not in (0, 1).
    """
    if output not in OUTPUTS:
        raise PgsslError(f"output must be one of {OUTPUTS}, got {output!r}")
    if not 0.0 < threshold < 1.0:
        raise PgsslError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")


def output_profile(width: int, height: int, transform, crs: CRS | None) -> dict:
    """Creation options of the (non-COG) output: tiled, deflate, one uint8 band, nodata 255."""
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", nodata=NODATA,
                   compress="deflate", predictor=2, bigtiff="IF_SAFER")
    if width >= BLOCK and height >= BLOCK:
        # GDAL needs block sides that are multiples of 16; tiny rasters stay striped.
        profile.update(tiled=True, blockxsize=BLOCK, blockysize=BLOCK)
    if transform is not None:
        profile["transform"] = transform
    if crs is not None:
        profile["crs"] = crs
    return profile


def tag_output(ds: rasterio.io.DatasetWriter, output: str, threshold: float, meta: dict) -> None:
    """Describe the band so a reader knows how to interpret it."""
    if output == "probability":
        ds.scales = (1.0 / PROB_SCALE,)
        ds.set_band_description(1, "building probability x 254 (255 = nodata)")
    else:
        ds.set_band_description(1, f"building mask (1 = p >= {threshold}, 255 = nodata)")
    ds.update_tags(**{OUTPUT_TAG: output, "pgssl_threshold": str(threshold)},
                   **{f"pgssl_{k}": str(v) for k, v in meta.items()})


def copy_as_cog(plain: Path, dst: Path, output: str) -> None:
    """Rewrite a finished GeoTIFF as a Cloud-Optimized GeoTIFF (overviews, deflate)."""
    # Masks are categorical: never average them into fractional overview values.
    resampling = "AVERAGE" if output == "probability" else "NEAREST"
    rasterio.shutil.copy(plain, dst, driver="COG", compress="DEFLATE", predictor="2",
                         overview_resampling=resampling, blocksize=BLOCK, bigtiff="IF_SAFER")
