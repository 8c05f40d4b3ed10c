"""The one prediction pipeline: input rasters to prediction GeoTIFFs (and, given the step, footprint outlines).

Every caller predicts through here: the ``predict`` command in one process and under torchrun
(:func:`predict_rasters`, which shares rasters out over the ranks and splits huge ones into row bands,
:mod:`pgssl_core.infer.sharded`) and the app's "Predict all tiles" (:func:`predict_file` per tile). One
raster takes one route, chosen in :func:`predict_file`:

- a GeoTIFF with data in under half of it (sparse): region by region (:mod:`pgssl_core.infer.regions`);
- any other GeoTIFF: window by window from the file (:func:`pgssl_core.infer.raster.predict_raster`);
- another image (PNG/JPEG/WebP with a world file or XYZ name): read whole (they are small), then the same.

Footprints are the assessment's concept, a layer above this one: a caller that wants them passes the
outline step (:data:`Outliner`), run on each output as soon as it is written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from torch import nn

from pgssl_core import distributed
from pgssl_core.infer.raster import PredictionSummary, predict_raster
from pgssl_core.infer.regions import predict_geotiff
from pgssl_core.infer.settings import BAND_MIN_PX, PredictSettings
from pgssl_core.infer.sharded import Outliner, RankReport, predict_banded
from pgssl_core.infer.stitch import Progress
from pgssl_core.models import ModelConfig
from pgssl_core.tiles import Tile, probe_size, read_tile
from pgssl_core.tiles.formats import GEOTIFF_SUFFIXES

#: ``progress_for(label) -> context manager giving a window Progress (or None)``, entered once per raster.
ProgressFactory = Callable[[str], contextlib.AbstractContextManager[Progress | None]]


def predict_file(model: nn.Module, config: ModelConfig, src: str | Path | Tile, dst: str | Path,
                 settings: PredictSettings | None = None,
                 progress: Progress | None = None) -> tuple[PredictionSummary, str]:
    """Predict one input raster into the prediction GeoTIFF ``dst`` (see the module docstring for the route).

    Args:
        model: the network (``load_model``'s).
        config: its config (bands, normalisation, stride, working GSD).
        src: a raster path (GeoTIFF, or an image ``read_tile`` reads), or a ``Tile`` already in memory.
        dst: output GeoTIFF path, written atomically.
        settings: how to predict (None: :class:`PredictSettings`' defaults).
        progress: ``progress(windows_done, windows_total)`` after each batch (per region for a sparse raster).

    Returns:
        ``(summary, note)``: the output path, source size, windows and pixel counts (summed over the regions of a
        sparse raster), and a note for people ("" unless the raster was predicted region by region).

    Raises:
        PgsslError, TileError, GsdError: as :func:`~pgssl_core.infer.raster.predict_raster`.
    """
    settings = settings or PredictSettings()
    dst = Path(dst)
    if isinstance(src, Tile):
        return predict_raster(model, config, src, dst, settings, progress), ""
    path = Path(src)
    if path.suffix.lower() in GEOTIFF_SUFFIXES:  # read window by window; sparse ones by their data regions
        return predict_geotiff(model, config, path, dst, settings, progress)
    return predict_raster(model, config, read_tile(path), dst, settings, progress), ""


def no_progress(_label: str) -> contextlib.AbstractContextManager[Progress | None]:
    """The :data:`ProgressFactory` that shows nothing."""
    return contextlib.nullcontext(None)


def _outline_into(report: RankReport, outline: Outliner | None, dst: Path, threshold: float) -> None:
    if outline is not None:
        outlines, extent = outline(dst, threshold, dst.stem)
        report.outlines.append(outlines)
        report.extents.append(extent)


def predict_rasters(model: nn.Module, config: ModelConfig, jobs: list[tuple[Path, Path]],
                    settings: PredictSettings, outline: Outliner | None = None, resume: bool = False,
                    band_min_px: int = BAND_MIN_PX, progress_for: ProgressFactory = no_progress,
                    report_line: Callable[[str], None] = print) -> list[RankReport]:
    """Predict ``jobs`` ``[(input raster, output GeoTIFF)]`` in this process, or over the ranks of the current
    torchrun group; returns every rank's :class:`~pgssl_core.infer.sharded.RankReport` (rank order, on every rank).

    Alone, every raster is predicted in order. Under torchrun, GeoTIFFs of at least ``band_min_px`` source pixels
    are split into row bands across the ranks (:func:`~pgssl_core.infer.sharded.predict_banded`) and the others are
    shared out round-robin. ``resume``: outputs that exist are skipped (written atomically, so complete).
    ``outline``: the footprint step, run on each output (skipped ones included, by rank 0) and collected in the
    reports. ``report_line`` gets one line per raster written or skipped; ``progress_for(label)`` a bar per raster.
    """
    info = distributed.current()
    report = RankReport(info.rank)
    # Rank 0's view decides: a rank that looked later could see an output another rank has just written and
    # share out the rest differently (a raster predicted twice, another never).
    todo = distributed.all_gather_objects([(s, d) for s, d in jobs if not (resume and d.exists())])[0]
    banded = [(s, d) for s, d in todo if info.distributed and s.suffix.lower() in GEOTIFF_SUFFIXES
              and _source_pixels(s) >= band_min_px]
    for src, dst in banded:
        predict_banded(model, config, src, dst, settings, report, outline)
    mine = [j for j in todo if j not in banded][info.rank::info.world_size]
    prefix = f"rank {info.rank}: " if info.distributed else ""
    for k, (src, dst) in enumerate(jobs, 1):
        if (src, dst) in mine:
            started = time.perf_counter()
            with progress_for(f"{prefix or f'[{k}/{len(jobs)}] '}{src.name}") as progress:
                summary, note = predict_file(model, config, src, dst, settings, progress)
            report.seconds += time.perf_counter() - started
            report.pixels += summary.width * summary.height
            report.written.append(str(dst))
            share = summary.building_pixels / max(summary.valid_pixels, 1)
            report_line(f"{prefix}{dst}: {summary.width} x {summary.height} px, {share:.1%} building{note}")
        elif (src, dst) not in todo and info.is_main:
            report.skipped.append(str(dst))
            report_line(f"{dst}: exists, skipped (--resume)")
        else:
            continue
        _outline_into(report, outline, dst, settings.threshold)
    return distributed.all_gather_objects(report)


def _source_pixels(path: Path) -> int:
    _, width, height = probe_size(path)
    return width * height
