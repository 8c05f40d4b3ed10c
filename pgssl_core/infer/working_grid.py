"""Prediction at the model's working GSD, written back on the source grid.

A model trained at a working GSD (``ModelConfig.gsd_m``, e.g. 0.3 m) sees every input at that GSD:
the source is read through :class:`ResampledSource` (GDAL's warper on each window), the network's
probabilities are written to a temporary GeoTIFF on the working grid, and GDAL's ``WarpedVRT`` brings
them back onto the source grid (same CRS, transform and size), block row by block row, so memory stays
bounded for large rasters.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Protocol

import affine
import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from pgssl_core.tiles.gsd import (
    GsdError,
    UnresolvedGsdWarning,
    check_gsd,
    ground_gsd_m,
    image_resampling,
    needs_resampling,
    pixel_frame,
    warn_if_source_too_coarse,
    warn_if_too_coarse,
    warp_band,
)
from pgssl_core.tiles.prediction_format import NODATA, PROB_SCALE

#: Rows of the source grid written per block when warping back (bounded memory: rows x width px).
BACK_ROWS: int = 256


class WindowSource(Protocol):
    """What prediction reads: a grid (size, transform, CRS) and RGB windows with validity."""

    width: int
    height: int
    transform: affine.Affine | None
    crs: CRS | None

    def read_window(self, col_off: int, row_off: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Read a window of ``width`` x ``height`` px at (``col_off``, ``row_off``).

        Returns:
            ``(rgb, valid)``: uint8 (height, width, 3) and bool (height, width).
        """
        ...


@dataclass(frozen=True)
class WorkingGrid:
    """The working grid of a source: ``width`` x ``height`` px of ``gsd_m`` covering the source's extent;
    ``fx``/``fy`` are source pixels per working pixel."""

    width: int
    height: int
    gsd_m: float
    source_gsd_m: float
    fx: float
    fy: float


def target_gsd(gsd_m: float | str | None, model_gsd_m: float | None) -> float | None:
    """The working GSD (m/px) a prediction asks for: ``"model"`` -> the model's own ``model_gsd_m``; a number
    or None (predict at the source's own GSD) as given.

    Raises:
        GsdError: any other text.
    """
    if isinstance(gsd_m, str):
        if gsd_m != "model":
            raise GsdError(f"the working GSD must be metres per pixel, None or 'model', got {gsd_m!r}")
        return model_gsd_m
    return gsd_m


def working_grid(source: WindowSource, gsd_m: float | None, stated_gsd_m: float | None = None,
                 name: str = "") -> WorkingGrid | None:
    """The grid to predict ``source`` on at ``gsd_m``, or None when no resampling is needed or possible.

    The source's GSD comes from its georeference, else ``stated_gsd_m``; when neither is known the
    source is predicted at native resolution with an ``UnresolvedGsdWarning``.
    """
    if gsd_m is None:
        return None
    if stated_gsd_m is not None:
        stated_gsd_m = check_gsd(stated_gsd_m, "the stated GSD")
    src_gsd = ground_gsd_m(source.transform, source.crs, source.width, source.height) or stated_gsd_m
    if src_gsd is None:
        warnings.warn(f"{name or 'the input'} has no georeference and no GSD was stated: predicted at native "
                      f"resolution, although the model works at {gsd_m} m", UnresolvedGsdWarning, stacklevel=2)
        return None
    if not needs_resampling(src_gsd, gsd_m):
        return None
    f = src_gsd / gsd_m
    width, height = max(1, round(source.width * f)), max(1, round(source.height * f))
    warn_if_too_coarse((height, width), src_gsd, gsd_m, name)
    warn_if_source_too_coarse(src_gsd, gsd_m, name)
    return WorkingGrid(width, height, gsd_m, src_gsd, source.width / width, source.height / height)


class ResampledSource:
    """``source`` seen on its working grid: windows are read from the source and warped by GDAL."""

    def __init__(self, source: WindowSource, grid: WorkingGrid) -> None:
        self.source, self.grid = source, grid
        self.width, self.height = grid.width, grid.height
        self.crs = source.crs
        self.transform = None if source.transform is None else \
            source.transform @ affine.Affine.scale(grid.fx, grid.fy)
        self._resampling = image_resampling(grid.source_gsd_m, grid.gsd_m)

    def read_window(self, col_off: int, row_off: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb (h, w, 3) uint8, valid (h, w) bool)`` of a window of the working grid."""
        g = self.grid
        x0, y0 = col_off * g.fx, row_off * g.fy
        x1, y1 = (col_off + width) * g.fx, (row_off + height) * g.fy
        # The whole source pixels under the window, one pixel of margin for bilinear weights.
        c0, r0 = max(0, math.floor(x0) - 1), max(0, math.floor(y0) - 1)
        c1, r1 = min(self.source.width, math.ceil(x1) + 1), min(self.source.height, math.ceil(y1) + 1)
        rgb, valid = self.source.read_window(c0, r0, c1 - c0, r1 - r0)
        src_t = pixel_frame(c0, r0)
        dst_t = pixel_frame(x0, y0, g.fx, g.fy)
        shape = (height, width)
        bands = [warp_band(rgb[..., c].astype(np.float32), src_t, dst_t, shape, self._resampling) for c in range(3)]
        share = warp_band(valid.astype(np.float32), src_t, dst_t, shape, self._resampling)
        out = np.clip(np.rint(np.stack(bands, axis=-1)), 0, 255).astype(np.uint8)
        ok = share >= 0.5
        out[~ok] = 0
        return out, ok


def probability_back_to_source(source: WindowSource, row_off: int, rows: int,
                               vrt: WarpedVRT) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (rows, W) float32 on the source grid and their validity, for source rows
    ``row_off`` .. ``row_off + rows``: the working-grid prediction read through ``vrt`` (bilinear)."""
    band = vrt.read(1, window=Window(0, row_off, source.width, rows))
    _, valid = source.read_window(0, row_off, source.width, rows)
    valid = valid & (band != NODATA)
    prob = band.astype(np.float32) / PROB_SCALE
    prob[~valid] = 0.0
    return prob, valid


def open_back_warp(working_tif: str, source: WindowSource,
                   grid: WorkingGrid) -> tuple[rasterio.DatasetReader, WarpedVRT]:
    """Open the working-grid prediction and a ``WarpedVRT`` of it on the source grid (caller closes both).

    The source grid is described in the same planar pixel frame as the working file when the source
    has no georeference (GDAL still needs a transform and CRS to warp).
    """
    ds = rasterio.open(working_tif)
    if source.transform is not None and source.crs is not None:
        transform, crs = source.transform, source.crs
    else:
        transform, crs = pixel_frame(), CRS.from_epsg(3857)
    vrt = WarpedVRT(ds, crs=crs, transform=transform, width=source.width, height=source.height,
                    resampling=Resampling.bilinear, src_nodata=NODATA, nodata=NODATA)
    return ds, vrt


def working_file_georef(source: WindowSource, resampled: ResampledSource) -> tuple[affine.Affine, CRS]:
    """Transform and CRS to write the working-grid prediction with (a pixel frame without georeference)."""
    if source.transform is not None and source.crs is not None:
        assert resampled.transform is not None
        return resampled.transform, source.crs
    g = resampled.grid
    return pixel_frame(0, 0, g.fx, g.fy), CRS.from_epsg(3857)
