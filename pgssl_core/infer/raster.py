"""Whole-raster inference: blended sliding windows in, a georeferenced prediction GeoTIFF out."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window
from torch import nn

from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.geotiff_out import check_output, copy_as_cog, encode, output_profile, tag_output
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.infer.stitch import BatchPredictor, Progress, plan_windows, stitch_predictions
from pgssl_core.infer.tile import network_multiple
from pgssl_core.infer.working_grid import (
    BACK_ROWS,
    ResampledSource,
    WindowSource,
    WorkingGrid,
    open_back_warp,
    probability_back_to_source,
    target_gsd,
    working_file_georef,
    working_grid,
)
from pgssl_core.io import atomic_write_with
from pgssl_core.models import ModelConfig
from pgssl_core.tiles import RasterSource, Tile, open_raster
from pgssl_core.tiles.georef import ungeoreferenced_ok

#: GDAL block cache (MB) while predicting. GDAL's default (5% of RAM) would let RSS grow with the raster;
#: 16 MB holds the source blocks shared by neighbouring windows and the output's unfinished block row.
GDAL_CACHE_MB: int = 16

#: ``(row_off, prob (rows, W) float32, valid (rows, W) bool)``: finished rows of a prediction on some grid.
RowBlock = tuple[int, np.ndarray, np.ndarray]


@dataclass
class PredictionSummary:
    """What ``predict_raster`` wrote: output path, size (px), number of windows and pixel counts."""

    path: Path
    width: int
    height: int
    windows: int
    valid_pixels: int
    building_pixels: int  # valid pixels with p >= threshold


class TileSource:
    """An in-memory ``Tile`` (e.g. a PNG with a world file) behind the ``RasterSource`` read API."""

    def __init__(self, tile: Tile) -> None:
        self.tile = tile
        self.width, self.height = tile.width, tile.height
        self.transform, self.crs = tile.transform, tile.crs

    def read_window(self, col_off: int, row_off: int, width: int, height: int):
        """Read a window of the in-memory tile.

        Returns:
            ``(rgb, valid)``: uint8 (height, width, 3) and bool (height, width) views of the tile.
        """
        rows, cols = slice(row_off, row_off + height), slice(col_off, col_off + width)
        return self.tile.image[rows, cols], self.tile.valid[rows, cols]


Source = str | os.PathLike[str] | RasterSource | Tile


def _source(src: Source) -> contextlib.AbstractContextManager[RasterSource | TileSource]:
    if isinstance(src, Tile):
        return contextlib.nullcontext(TileSource(src))
    if isinstance(src, RasterSource):
        return contextlib.nullcontext(src)  # the caller owns it and closes it
    return open_raster(src)


def window_predictor(model: nn.Module, config: ModelConfig, settings: PredictSettings) -> BatchPredictor:
    """``predict(windows uint8 (N, h, w, 3)) -> probabilities float32 (N, h, w)`` with ``settings``' TTA and device."""
    def predict(batch: np.ndarray) -> np.ndarray:
        return forward_probabilities(model, config, batch, tta=settings.tta, device=settings.device)

    return predict


def write_rows(ds: rasterio.io.DatasetWriter, blocks: Iterable[RowBlock], kind: str, threshold: float,
               row_base: int = 0) -> tuple[int, int]:
    """Encode ``blocks`` as ``kind`` and write them into band 1 of ``ds`` at row ``row_off - row_base``.

    Encoding and writing (deflate, in GDAL, which releases the GIL) run on a writer thread while the caller's
    generator computes the next rows (e.g. the forward pass): at most one block waits, so memory stays
    bounded by two blocks. Returns the ``(valid, building)`` pixel counts (building: valid and p >= ``threshold``).
    """
    counts = [0, 0]

    def write(row_off: int, prob: np.ndarray, valid: np.ndarray) -> None:
        counts[0] += int(valid.sum())
        counts[1] += int(((prob >= threshold) & valid).sum())
        band = encode(prob, valid, kind, threshold)
        ds.write(band, 1, window=Window(0, row_off - row_base, ds.width, band.shape[0]))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pgssl-writer") as writer:
        pending: Future | None = None
        for block in blocks:
            if pending is not None:
                pending.result()  # one block in flight: bounded memory, errors surface at once
            pending = writer.submit(write, *block)
        if pending is not None:
            pending.result()
    return counts[0], counts[1]


def predicted_rows(seen: WindowSource, predict: BatchPredictor,
                   settings: PredictSettings, multiple: int, progress: Progress | None = None,
                   strips: range | None = None) -> Iterable[RowBlock]:
    """The blended prediction of ``seen`` as :data:`RowBlock` s, top to bottom (see ``stitch_predictions``)."""
    for rows in stitch_predictions(seen.height, seen.width, seen.read_window, predict, settings.window,
                                   settings.overlap, multiple, settings.batch_size, progress, strips):
        yield rows.row_off, rows.prob, rows.valid


def back_rows(source: WindowSource, vrt, start: int, stop: int) -> Iterable[RowBlock]:
    """Rows ``start``..``stop`` of the source grid from the working-grid prediction behind ``vrt``,
    :data:`BACK_ROWS` at a time."""
    for row_off in range(start, stop, BACK_ROWS):
        yield (row_off, *probability_back_to_source(source, row_off, min(BACK_ROWS, stop - row_off), vrt))


def write_prediction(path: Path, blocks: Iterable[RowBlock], size: tuple[int, int], georef: tuple, kind: str,
                     settings: PredictSettings, extra_meta: dict | None = None, row_base: int = 0) -> tuple[int, int]:
    """Write ``blocks`` as a prediction GeoTIFF of ``size`` (width, height px) with ``georef``
    (transform, CRS; None for none) at ``path``; returns the ``(valid, building)`` pixel counts."""
    with rasterio.open(path, "w", **output_profile(*size, *georef)) as ds:
        tag_output(ds, kind, settings.threshold, {**settings.meta, **(extra_meta or {})})
        return write_rows(ds, blocks, kind, settings.threshold, row_base)


def back_meta(grid: WorkingGrid) -> dict:
    """Tags of an output warped back from the working grid: the working and the source GSD (m/px)."""
    return {"gsd_m": grid.gsd_m, "source_gsd_m": round(grid.source_gsd_m, 4)}


def _write_back(path: Path, working: Path, source: RasterSource | TileSource, grid: WorkingGrid,
                settings: PredictSettings) -> tuple[int, int]:
    """The working-grid probabilities at ``working`` warped back onto the source grid, encoded as the output."""
    ds_in, vrt = open_back_warp(str(working), source, grid)
    try:
        return write_prediction(path, back_rows(source, vrt, 0, source.height), (source.width, source.height),
                                (source.transform, source.crs), settings.output, settings, back_meta(grid))
    finally:
        vrt.close()
        ds_in.close()


def _write_plain(path: Path, source: RasterSource | TileSource, grid: WorkingGrid | None,
                 predict: BatchPredictor, settings: PredictSettings, multiple: int,
                 progress: Progress | None) -> tuple[int, int]:
    """Predict ``source`` into ``path`` (a plain GeoTIFF); on a working grid through a temporary file."""
    if grid is None:
        rows = predicted_rows(source, predict, settings, multiple, progress)
        return write_prediction(path, rows, (source.width, source.height), (source.transform, source.crs),
                                settings.output, settings)
    seen = ResampledSource(source, grid)
    working = path.with_name(path.stem + ".working.tif")
    try:
        write_prediction(working, predicted_rows(seen, predict, settings, multiple, progress),
                         (seen.width, seen.height), working_file_georef(source, seen), "probability", settings)
        return _write_back(path, working, source, grid, settings)
    finally:
        working.unlink(missing_ok=True)


def predict_raster(model: nn.Module, config: ModelConfig, src: Source, dst: str | os.PathLike[str],
                   settings: PredictSettings | None = None, progress: Progress | None = None) -> PredictionSummary:
    """Predict buildings over a whole raster with bounded memory and write the result to ``dst``.

    The source is read window by window (or from memory for a ``Tile``), resampled to the working GSD
    when it differs, predicted in overlapping windows blended with edge weights
    (:mod:`pgssl_core.infer.stitch`) and written row band by row band; at a working GSD other than the
    source's, the probabilities are warped back, so the output always has the source's grid, transform
    and CRS (see :mod:`pgssl_core.infer.working_grid`). The file is tiled + deflate (or a COG with
    ``settings.cog``) and written atomically. Reading the next windows and writing finished rows run on
    threads of their own while the network predicts.

    Args:
        model: the segmentation network (logits (N, 2, H, W) for inputs (N, C, H, W)).
        config: the model's config (bands, normalisation, output stride, working GSD ``config.gsd_m``).
        src: a GeoTIFF path or open ``RasterSource`` (read window by window; an open source stays open),
            or a ``Tile`` (any format ``read_tile`` reads, already in memory).
        dst: output GeoTIFF path.
        settings: window, overlap, batch, TTA, output kind, threshold, COG, device and GSDs
            (:class:`~pgssl_core.infer.settings.PredictSettings`; None: the defaults).
        progress: ``progress(windows_done, windows_total)``, called after each batch of windows.

    Returns:
        The output path, the source size (px), the number of (working-grid) windows, and the counts of
        valid and building (p >= threshold) pixels on the source grid.

    Raises:
        PgsslError: a bad output kind or threshold, window or overlap, or an empty raster.
        TileError: the source cannot be opened or read (not a GeoTIFF for windowed reading, corrupt,
            complex-valued).
        GsdError: ``settings.stated_gsd_m`` is outside the accepted GSD range.
    """
    settings = settings or PredictSettings()
    check_output(settings.output, settings.threshold)
    dst = Path(dst)
    multiple = network_multiple(config)
    predict = window_predictor(model, config, settings)
    with _source(src) as source:
        name = getattr(getattr(source, "path", None), "name", "")
        grid = working_grid(source, target_gsd(settings.gsd_m, config.gsd_m), settings.stated_gsd_m, name)
        seen_h, seen_w = (source.height, source.width) if grid is None else (grid.height, grid.width)
        layout = plan_windows(seen_h, seen_w, settings.window, settings.overlap, multiple)
        counts = (0, 0)

        def write(path: Path) -> None:
            nonlocal counts
            plain = path if not settings.cog else path.with_name(path.stem + ".plain.tif")
            try:
                counts = _write_plain(plain, source, grid, predict, settings, multiple, progress)
                if settings.cog:
                    copy_as_cog(plain, path, settings.output)
            finally:
                if settings.cog:
                    plain.unlink(missing_ok=True)

        # An input without a georeference gives an output without one, as the caller was told (the
        # native-resolution warning, not_georeferenced_reason): GDAL's identity-matrix warning is noise.
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), ungeoreferenced_ok():
            atomic_write_with(dst, write)
        return PredictionSummary(dst, source.width, source.height, layout.count, *counts)

