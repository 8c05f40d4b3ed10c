"""A huge raster predicted across torchrun's ranks in row bands, and what each rank reports.

``torchrun --nproc-per-node N -m pgssl_core predict --input DIR_OR_LIST ...`` starts N processes; each
joins the group (:mod:`pgssl_core.distributed`: gloo on CPU, NCCL on GPUs) and runs
:func:`pgssl_core.infer.pipeline.predict_rasters`, the same driver as one process:

1. rasters of at least ``band_min_px`` source pixels are split into row bands, one per rank, predicted
   exactly as in one process (:mod:`pgssl_core.infer.bands`), and assembled by GDAL into one COG by rank 0;
   at a working GSD other than the source's, the bands are predicted on the working grid, then every rank
   warps its own rows back onto the source grid from a VRT of all the working bands;
2. the other rasters are shared out round-robin (rank r takes every N-th), each predicted whole by one rank.

Every output is written once, by one rank, atomically. With ``resume``, outputs that already exist are
skipped, so a killed job restarted with the same command (by hand or by torchrun's ``--max-restarts``)
does only what is left. Footprints: given an ``outline`` step, every rank outlines what it wrote (whole
rasters, and its bands of the banded ones, named with :data:`BAND_MARK`) and rank 0 joins them across band
seams (:mod:`pgssl_core.project.sharded_footprints`). The step is passed in, not imported: footprints are
the assessment's concept, a layer above this one. This module holds the banded route
(:func:`predict_banded`) and the reports; the shared-out route is the pipeline's.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import affine
import rasterio
from torch import nn

from pgssl_core import distributed
from pgssl_core.infer.bands import StripBand, assemble_cog, row_bands, strip_bands, write_band_vrt
from pgssl_core.infer.raster import (
    GDAL_CACHE_MB,
    back_meta,
    back_rows,
    predicted_rows,
    window_predictor,
    write_prediction,
)
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.infer.stitch import plan_windows
from pgssl_core.infer.tile import network_multiple
from pgssl_core.infer.working_grid import (
    BACK_ROWS,
    ResampledSource,
    WindowSource,
    WorkingGrid,
    open_back_warp,
    target_gsd,
    working_file_georef,
    working_grid,
)
from pgssl_core.io import atomic_write_with
from pgssl_core.models import ModelConfig
from pgssl_core.tiles import open_raster

#: Separates a raster's name from its band in footprint ``tile`` names until the bands are joined.
BAND_MARK = "#rows"

#: ``outline(prediction GeoTIFF, threshold, name)`` -> (raw building outlines, imaged extent), both in WGS84
#: with a ``tile`` column holding ``name`` (:func:`pgssl_core.assess.inputs.raw_outlines`).
Outliner = Callable[[Path, float, str], tuple[Any, Any]]


@dataclass
class RankReport:
    """What one rank did: outputs it wrote and skipped, band pieces, source pixels predicted and the seconds
    it spent predicting; raw footprint outlines and extents of what it wrote (for rank 0 to join)."""

    rank: int
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    pixels: int = 0
    seconds: float = 0.0
    outlines: list = field(default_factory=list)
    extents: list = field(default_factory=list)

    @property
    def px_per_s(self) -> float:
        """Source pixels predicted per second by this rank (0 if it spent no time)."""
        return self.pixels / self.seconds if self.seconds > 0 else 0.0


def _shifted(transform: affine.Affine | None, start: int) -> affine.Affine | None:
    """``transform`` of a band whose first row is row ``start`` of the grid (None stays None)."""
    return None if transform is None else transform @ affine.Affine.translation(0, start)


def _predict_band(model: nn.Module, config: ModelConfig, source: WindowSource, grid: WorkingGrid | None,
                  band: StripBand, path: Path, settings: PredictSettings) -> None:
    """Write this rank's band ``band`` of ``source`` (on its working grid when ``grid``) to ``path``."""
    seen = source if grid is None else ResampledSource(source, grid)
    start, stop = band.rows
    if grid is None:
        transform, crs, kind = source.transform, source.crs, settings.output
    else:
        assert isinstance(seen, ResampledSource)
        (transform, crs), kind = working_file_georef(source, seen), "probability"
    rows = predicted_rows(seen, window_predictor(model, config, settings), settings, network_multiple(config),
                          strips=band.compute)
    write_prediction(path, (b for b in rows if start <= b[0] < stop), (seen.width, stop - start),
                     (_shifted(transform, start), crs), kind, settings, row_base=start)


def _band_back(source: WindowSource, grid: WorkingGrid, seen_parts: list[tuple[Path, int]], work: Path,
               settings: PredictSettings) -> tuple[list[tuple[Path, int]], tuple[Path, tuple[int, int]] | None]:
    """This rank's rows of the source grid warped back from a VRT of every rank's working band; returns every
    rank's part ``(file, first row)`` and this rank's ``(file, (start, stop))`` (None when it has no rows)."""
    info = distributed.current()
    back = row_bands(source.height, info.world_size, BACK_ROWS)
    final_parts = [(work / f"source{r}.tif", b[0]) for r, b in enumerate(back) if b[1] > b[0]]
    start, stop = back[info.rank]
    if stop <= start:
        return final_parts, None
    path = work / f"source{info.rank}.tif"
    ds_in, vrt = open_back_warp(str(write_band_vrt(seen_parts, work / f"working{info.rank}.vrt")), source, grid)
    try:
        write_prediction(path, back_rows(source, vrt, start, stop), (source.width, stop - start),
                         (_shifted(source.transform, start), source.crs), settings.output, settings,
                         back_meta(grid), row_base=start)
    finally:
        vrt.close()
        ds_in.close()
    return final_parts, (path, (start, stop))


def predict_banded(model: nn.Module, config: ModelConfig, path: Path, dst: Path, settings: PredictSettings,
                   report: RankReport, outline: Outliner | None) -> None:
    """This rank's band of ``path``; rank 0 also assembles ``dst`` (a COG). Every rank must call this, in
    the same order over the same rasters (collective: it waits for the others between the steps)."""
    info = distributed.current()
    work = dst.parent / f".bands-{dst.stem}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open_raster(path) as source, rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        grid = working_grid(source, target_gsd(settings.gsd_m, config.gsd_m), settings.stated_gsd_m, path.name)
        seen_h, seen_w = (source.height, source.width) if grid is None else (grid.height, grid.width)
        layout = plan_windows(seen_h, seen_w, settings.window, settings.overlap, network_multiple(config))
        bands = strip_bands(layout, seen_h, info.world_size)
        mine = bands[info.rank]
        seen_parts = [(work / f"seen{r}.tif", b.rows[0]) for r, b in enumerate(bands) if b.compute]
        if mine.compute:
            _predict_band(model, config, source, grid, mine, work / f"seen{info.rank}.tif", settings)
        distributed.barrier()
        final_parts = seen_parts
        my_final = (work / f"seen{info.rank}.tif", mine.rows) if mine.compute else None
        if grid is not None:  # back onto the source grid, each rank its own rows, from all working bands
            final_parts, my_final = _band_back(source, grid, seen_parts, work, settings)
            distributed.barrier()
        if my_final is not None:
            rows = my_final[1]
            report.pixels += round(source.width * source.height * (rows[1] - rows[0]) / (seen_h if grid is None
                                                                                           else source.height))
            report.bands.append(f"{path.name} rows {rows[0]}-{rows[1]}")
        report.seconds += time.perf_counter() - started
        if outline is not None and my_final is not None:
            outlines, extent = outline(my_final[0], settings.threshold,
                                       f"{dst.stem}{BAND_MARK}{my_final[1][0]}-{my_final[1][1]}")
            report.outlines.append(outlines)
            report.extents.append(extent)
        if info.is_main:
            atomic_write_with(dst, lambda tmp: assemble_cog(final_parts, tmp, settings.output))
            report.written.append(str(dst))
        distributed.barrier()  # nobody reads the band files any more
        if info.is_main:
            shutil.rmtree(work, ignore_errors=True)


def summary(reports: list[RankReport], wall_s: float) -> tuple[list[str], dict]:
    """Lines for people (px/s per rank and in total) and the JSON record (``world_size``, the rasters each
    rank wrote)."""
    total_px = sum(r.pixels for r in reports)
    lines = [f"rank {r.rank}: {r.pixels / 1e6:.2f} Mpx in {r.seconds:.1f} s = {r.px_per_s / 1e6:.3f} Mpx/s, "
             f"wrote {len(r.written)} raster(s), {len(r.bands)} band(s)" for r in reports]
    lines.append(f"total: {total_px / 1e6:.2f} Mpx in {wall_s:.1f} s = {total_px / max(wall_s, 1e-9) / 1e6:.3f} Mpx/s "
                 f"over {len(reports)} rank(s)")
    record = {"world_size": len(reports),
              "written": {str(r.rank): r.written for r in reports},
              "bands": {str(r.rank): r.bands for r in reports},
              "skipped": sorted({s for r in reports for s in r.skipped}),
              "px_per_s": {str(r.rank): round(r.px_per_s, 1) for r in reports},
              "total_px_per_s": round(total_px / max(wall_s, 1e-9), 1), "wall_s": round(wall_s, 3)}
    return lines, record
