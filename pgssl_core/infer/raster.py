"""Whole-raster inference: blended sliding windows in, a georeferenced prediction GeoTIFF out."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import rasterio
import torch
from torch import nn

from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.geotiff_out import check_output, copy_as_cog, encode, output_profile, tag_output
from pgssl_core.infer.stitch import Progress, plan_windows, stitch_predictions
from pgssl_core.infer.tile import network_multiple
from pgssl_core.infer.working_grid import (
    BACK_ROWS,
    ResampledSource,
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


def predict_raster(model: nn.Module, config: ModelConfig, src: Source,
                   dst: str | os.PathLike[str], tile: int = 512, overlap: int = 64, batch_size: int = 4,
                   tta: bool = False, output: str = "probability", threshold: float = 0.5, cog: bool = False,
                   device: str | torch.device | None = None, progress: Progress | None = None,
                   gsd_m: float | str | None = "model", stated_gsd_m: float | None = None) -> PredictionSummary:
    """Predict buildings over a whole GeoTIFF with bounded memory and write the result to ``dst``.

    The source is read window by window (or from memory for a ``Tile``), resampled to the working GSD
    when it differs, predicted in overlapping windows blended with edge weights
    (:mod:`pgssl_core.infer.stitch`) and written row band by row band; at a working GSD other than the
    source's, the probabilities are warped back, so the output always has the source's grid, transform
    and CRS (see :mod:`pgssl_core.infer.working_grid`). The file is tiled + deflate (or a COG with
    ``cog``) and written atomically.

    Args:
        model: the segmentation network (logits (N, 2, H, W) for inputs (N, C, H, W)).
        config: the model's config (bands, normalisation, output stride, working GSD ``config.gsd_m``).
        src: a GeoTIFF path or open ``RasterSource`` (read window by window; an open source stays open),
            or a ``Tile`` (any format ``read_tile`` reads, already in memory).
        dst: output GeoTIFF path.
        tile: window side in px; a positive multiple of the network's output stride.
        overlap: minimum overlap of neighbouring windows in px, 0 <= overlap < tile.
        batch_size: windows per forward pass.
        tta: average the probabilities over flips (about 3x slower).
        output: ``"probability"`` (uint8 round(p x 254), :data:`~pgssl_core.tiles.prediction_format.PROB_SCALE`)
            or ``"mask"`` (0/1 at ``threshold``); source nodata becomes 255
            (:data:`~pgssl_core.tiles.prediction_format.NODATA`) in both.
        threshold: building probability threshold in (0, 1), for the mask and the pixel counts.
        cog: write a Cloud-Optimized GeoTIFF.
        device: torch device for the forward pass (None: the device of the model's parameters).
        progress: ``progress(windows_done, windows_total)``, called after each batch of windows.
        gsd_m: working GSD (m/px) the network sees; ``"model"`` takes ``config.gsd_m``, None predicts at
            native resolution.
        stated_gsd_m: GSD (m/px) of a source without a georeference; when neither is known the source is
            predicted at native resolution with an ``UnresolvedGsdWarning``.

    Returns:
        The output path, the source size (px), the number of (working-grid) windows, and the counts of
        valid and building (p >= ``threshold``) pixels on the source grid.

    Raises:
        PgsslError: a bad ``output``/``threshold``, ``tile`` or ``overlap``, or an empty raster.
        TileError: the source cannot be opened or read (not a GeoTIFF for windowed reading, corrupt,
            complex-valued).
        GsdError: ``stated_gsd_m`` is outside the accepted GSD range.
    """
    check_output(output, threshold)
    dst = Path(dst)
    multiple = network_multiple(config)
    counts = {"valid": 0, "building": 0}

    def predict(batch):
        return forward_probabilities(model, config, batch, tta=tta, device=device)

    with _source(src) as source:
        name = getattr(getattr(source, "path", None), "name", "")
        grid = working_grid(source, target_gsd(gsd_m, config.gsd_m), stated_gsd_m, name)
        seen = source if grid is None else ResampledSource(source, grid)
        layout = plan_windows(seen.height, seen.width, tile, overlap, multiple)

        def write_seen(path: Path, kind: str, transform, crs) -> None:
            """Predictions of ``seen`` (source or working grid) as a GeoTIFF of ``kind``."""
            profile = output_profile(seen.width, seen.height, transform, crs)
            with rasterio.open(path, "w", **profile) as ds:
                tag_output(ds, kind, threshold, {"tile": tile, "overlap": overlap, "tta": tta})
                for rows in stitch_predictions(seen.height, seen.width, seen.read_window, predict,
                                               tile, overlap, multiple, batch_size, progress):
                    band = encode(rows.prob, rows.valid, kind, threshold)
                    if grid is None:
                        counts["valid"] += int(rows.valid.sum())
                        counts["building"] += int(((rows.prob >= threshold) & rows.valid).sum())
                    window = rasterio.windows.Window(0, rows.row_off, seen.width, band.shape[0])
                    ds.write(band, 1, window=window)

        def write_back(path: Path, working: Path) -> None:
            """The working-grid probabilities warped back onto the source grid, encoded as ``output``."""
            assert grid is not None
            profile = output_profile(source.width, source.height, source.transform, source.crs)
            ds_in, vrt = open_back_warp(str(working), source, grid)
            try:
                with rasterio.open(path, "w", **profile) as ds:
                    tag_output(ds, output, threshold, {"tile": tile, "overlap": overlap, "tta": tta,
                                                       "gsd_m": grid.gsd_m,
                                                       "source_gsd_m": round(grid.source_gsd_m, 4)})
                    for row_off in range(0, source.height, BACK_ROWS):
                        rows = min(BACK_ROWS, source.height - row_off)
                        prob, valid = probability_back_to_source(source, row_off, rows, vrt)
                        counts["valid"] += int(valid.sum())
                        counts["building"] += int(((prob >= threshold) & valid).sum())
                        ds.write(encode(prob, valid, output, threshold), 1,
                                 window=rasterio.windows.Window(0, row_off, source.width, rows))
            finally:
                vrt.close()
                ds_in.close()

        def write_plain(path: Path) -> None:
            if grid is None:
                write_seen(path, output, source.transform, source.crs)
                return
            working = path.with_name(path.stem + ".working.tif")
            try:
                assert isinstance(seen, ResampledSource)
                write_seen(working, "probability", *working_file_georef(source, seen))
                write_back(path, working)
            finally:
                working.unlink(missing_ok=True)

        def write(path: Path) -> None:
            if not cog:
                write_plain(path)
                return
            plain = path.with_name(path.stem + ".plain.tif")
            try:
                write_plain(plain)
                copy_as_cog(plain, path, output)
            finally:
                plain.unlink(missing_ok=True)

        # An input without a georeference gives an output without one, as the caller was told (the
        # native-resolution warning, not_georeferenced_reason): GDAL's identity-matrix warning is noise.
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), ungeoreferenced_ok():
            atomic_write_with(dst, write)
        return PredictionSummary(dst, source.width, source.height, layout.count, counts["valid"],
                                 counts["building"])
