"""Prediction spread over torchrun's ranks: many rasters shared out, a huge one split into row bands.

``torchrun --nproc-per-node N -m pgssl_core predict --input DIR_OR_LIST ...`` starts N processes; each
joins the group (:mod:`pgssl_core.distributed`: gloo on CPU, NCCL on GPUs) and:

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
the assessment's concept, a layer above this one.
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
import torch
from rasterio.windows import Window
from torch import nn

from pgssl_core import distributed
from pgssl_core.infer.bands import assemble_cog, row_bands, strip_bands, write_band_vrt
from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.geotiff_out import encode, output_profile, tag_output
from pgssl_core.infer.raster import GDAL_CACHE_MB
from pgssl_core.infer.stitch import plan_windows, stitch_predictions
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
from pgssl_core.tiles import open_raster, probe_size
from pgssl_core.tiles.formats import GEOTIFF_SUFFIXES

#: Separates a raster's name from its band in footprint ``tile`` names until the bands are joined.
BAND_MARK = "#rows"

#: ``outline(prediction GeoTIFF, threshold, name)`` -> (raw building outlines, imaged extent), both in WGS84
#: with a ``tile`` column holding ``name`` (:func:`pgssl_core.assess.inputs.raw_outlines`).
Outliner = Callable[[Path, float, str], tuple[Any, Any]]


@dataclass(frozen=True)
class PredictSettings:
    """How every raster is predicted (the ``predict`` command's options; see ``predict_raster``)."""

    tile: int = 512
    overlap: int = 64
    batch_size: int = 4
    tta: bool = False
    output: str = "probability"
    threshold: float = 0.5
    device: str | torch.device | None = None
    gsd_m: float | str | None = "model"
    stated_gsd_m: float | None = None

    @property
    def meta(self) -> dict:
        """The settings that shape the output (window px, overlap px, TTA), tagged into each written GeoTIFF."""
        return {"tile": self.tile, "overlap": self.overlap, "tta": self.tta}


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


def _band_file(path: Path, rows: tuple[int, int], transform: affine.Affine | None, crs, width: int, kind: str,
               settings: PredictSettings, extra_meta: dict | None, blocks) -> tuple[int, int]:
    """Write ``blocks`` (``(row_off, prob, valid)`` on a grid, rows ``rows``) as a band GeoTIFF; returns
    (valid, building) pixel counts."""
    start, stop = rows
    shifted = None if transform is None else transform @ affine.Affine.translation(0, start)
    counts = [0, 0]
    with rasterio.open(path, "w", **output_profile(width, stop - start, shifted, crs)) as ds:
        tag_output(ds, kind, settings.threshold, {**settings.meta, **(extra_meta or {})})
        for row_off, prob, valid in blocks:
            counts[0] += int(valid.sum())
            counts[1] += int(((prob >= settings.threshold) & valid).sum())
            ds.write(encode(prob, valid, kind, settings.threshold), 1,
                     window=Window(0, row_off - start, width, prob.shape[0]))
    return counts[0], counts[1]


def predict_banded(model: nn.Module, config: ModelConfig, path: Path, dst: Path, settings: PredictSettings,
                   report: RankReport, outline: Outliner | None) -> None:
    """This rank's band of ``path``; rank 0 also assembles ``dst`` (a COG). Every rank must call this, in
    the same order over the same rasters (collective: it waits for the others between the steps)."""
    info = distributed.current()
    work = dst.parent / f".bands-{dst.stem}"
    work.mkdir(parents=True, exist_ok=True)
    multiple = network_multiple(config)
    started = time.perf_counter()
    with open_raster(path) as source, rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        grid = working_grid(source, target_gsd(settings.gsd_m, config.gsd_m), settings.stated_gsd_m, path.name)
        seen = source if grid is None else ResampledSource(source, grid)
        layout = plan_windows(seen.height, seen.width, settings.tile, settings.overlap, multiple)
        bands = strip_bands(layout, seen.height, info.world_size)
        if grid is None:
            transform, crs = source.transform, source.crs
        else:
            assert isinstance(seen, ResampledSource)
            transform, crs = working_file_georef(source, seen)
        kind = settings.output if grid is None else "probability"
        mine = bands[info.rank]

        def predict(batch):
            return forward_probabilities(model, config, batch, tta=settings.tta, device=settings.device)

        seen_parts = [(work / f"seen{r}.tif", b.rows[0]) for r, b in enumerate(bands) if b.compute]
        if mine.compute:
            start, stop = mine.rows
            blocks = ((rows.row_off, rows.prob, rows.valid)
                      for rows in stitch_predictions(seen.height, seen.width, seen.read_window, predict,
                                                     settings.tile, settings.overlap, multiple,
                                                     settings.batch_size, strips=mine.compute)
                      if start <= rows.row_off < stop)
            _band_file(work / f"seen{info.rank}.tif", mine.rows, transform, crs, seen.width, kind, settings,
                       None, blocks)
        distributed.barrier()
        final_parts = seen_parts
        my_final = (work / f"seen{info.rank}.tif", mine.rows) if mine.compute else None
        if grid is not None:  # back onto the source grid, each rank its own rows, from all working bands
            back = row_bands(source.height, info.world_size, BACK_ROWS)
            final_parts = [(work / f"source{r}.tif", b[0]) for r, b in enumerate(back) if b[1] > b[0]]
            start, stop = back[info.rank]
            my_final = None
            if stop > start:
                vrt_path = write_band_vrt(seen_parts, work / f"working{info.rank}.vrt")
                ds_in, vrt = open_back_warp(str(vrt_path), source, grid)
                try:
                    blocks = ((row_off, *probability_back_to_source(
                        source, row_off, min(BACK_ROWS, stop - row_off), vrt))
                        for row_off in range(start, stop, BACK_ROWS))
                    _band_file(work / f"source{info.rank}.tif", (start, stop), source.transform, source.crs,
                               source.width, settings.output, settings,
                               {"gsd_m": grid.gsd_m, "source_gsd_m": round(grid.source_gsd_m, 4)}, blocks)
                finally:
                    vrt.close()
                    ds_in.close()
                my_final = (work / f"source{info.rank}.tif", (start, stop))
            distributed.barrier()
        if my_final is not None:
            rows = my_final[1]
            report.pixels += round(source.width * source.height * (rows[1] - rows[0])
                                   / (seen.height if grid is None else source.height))
            report.bands.append(f"{path.name} rows {rows[0]}-{rows[1]}")
        report.seconds += time.perf_counter() - started
        if outline is not None and my_final is not None:
            name = f"{dst.stem}{BAND_MARK}{my_final[1][0]}-{my_final[1][1]}"
            outlines, extent = outline(my_final[0], settings.threshold, name)
            report.outlines.append(outlines)
            report.extents.append(extent)
        if info.is_main:
            atomic_write_with(dst, lambda tmp: assemble_cog(final_parts, tmp, settings.output))
            report.written.append(str(dst))
        distributed.barrier()  # nobody reads the band files any more
        if info.is_main:
            shutil.rmtree(work, ignore_errors=True)


def _source_pixels(path: Path) -> int:
    _, width, height = probe_size(path)
    return width * height


def predict_sharded(model: nn.Module, config: ModelConfig, jobs: list[tuple[Path, Path]], settings: PredictSettings,
                    predict_whole: Callable[[Path, Path], object], band_min_px: int,
                    resume: bool = False, outline: Outliner | None = None,
                    report_line: Callable[[str], None] = print) -> list[RankReport]:
    """Predict ``jobs`` ``[(input raster, output path)]`` over the ranks of the current group; returns every
    rank's report (in rank order, on every rank).

    ``predict_whole(input, output)`` predicts one raster whole (the single-process path). GeoTIFFs of at
    least ``band_min_px`` source pixels are split into row bands across the ranks (when there are several).
    ``resume``: skip outputs that exist. ``outline``: the footprint step (:data:`Outliner`), run by each rank on
    what it wrote; its outlines and extents are collected in the reports for rank 0 to join (None: no footprints).
    """
    info = distributed.current()
    report = RankReport(info.rank)
    todo = []
    for src, dst in jobs:
        if resume and dst.exists():
            if info.is_main:
                report.skipped.append(str(dst))
            continue
        todo.append((src, dst))
    # Rank 0's view decides: a rank that looked later could see an output another rank has just written and
    # share out the rest differently (a raster predicted twice, another never).
    todo = distributed.all_gather_objects(todo)[0]
    banded = [(s, d) for s, d in todo if info.distributed and s.suffix.lower() in GEOTIFF_SUFFIXES
              and _source_pixels(s) >= band_min_px]
    whole = [j for j in todo if j not in banded]
    for src, dst in banded:
        predict_banded(model, config, src, dst, settings, report, outline)
    for src, dst in whole[info.rank::info.world_size]:
        started = time.perf_counter()
        predict_whole(src, dst)
        report.seconds += time.perf_counter() - started
        report.pixels += _source_pixels(src)
        report.written.append(str(dst))
        report_line(f"rank {info.rank}: {dst}")
        if outline is not None:
            outlines, extent = outline(dst, settings.threshold, dst.stem)
            report.outlines.append(outlines)
            report.extents.append(extent)
    return distributed.all_gather_objects(report)


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
