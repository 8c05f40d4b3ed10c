"""The ``predict`` command's work: a model file and input rasters to prediction GeoTIFFs and footprints.

One process or torchrun's ranks alike: the model is loaded (and, if asked, adapted to the inputs), the rasters
go through the one pipeline (:func:`pgssl_core.infer.pipeline.predict_rasters`), each output is outlined as soon
as it is written (:func:`pgssl_core.assess.inputs.raw_outlines`) and the outlines are joined across raster and
band seams (:func:`pgssl_core.project.sharded_footprints.joined_footprints`) into one footprint file, written
by rank 0. It lives here because it joins two stages, ``infer`` and ``assess``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import torch

from pgssl_core import distributed
from pgssl_core.errors import PgsslError
from pgssl_core.infer.pipeline import ProgressFactory, no_progress, predict_rasters
from pgssl_core.infer.settings import BAND_MIN_PX, PredictSettings
from pgssl_core.infer.sharded import RankReport


@dataclass(frozen=True)
class FootprintOptions:
    """Where and how footprints are written: ``path`` (.gpkg or .geojson, WGS84), the smallest kept area (m²),
    the simplification tolerance (m) and whether corners are squared (``predict --polygons`` and its options)."""

    path: Path
    min_area_m2: float = 4.0
    simplify_m: float = 0.5
    regularize: bool = False


@dataclass
class PredictRun:
    """What :func:`predict_inputs` did: every rank's report, the seconds it took, the number of footprints
    written and their total area (m²; both None without footprints, and on ranks other than 0)."""

    reports: list[RankReport]
    wall_s: float
    footprints: int | None = None
    footprint_m2: float | None = None


def load_for_prediction(model_path: Path, settings: PredictSettings, adapt_to: list[Path] | None = None,
                        say: Callable[[str], None] = print):
    """``(model, config)`` of ``model_path`` on ``settings.device`` with ``settings.engine`` and thread count;
    with ``adapt_to``, its BatchNorm statistics re-estimated on crops of those rasters (``--adapt-bn``), said in
    one line through ``say``."""
    from pgssl_core.models import load_model

    if settings.threads:
        torch.set_num_threads(settings.threads)
    model, config, _ = load_model(model_path, settings.device or "cpu", engine=settings.engine)
    if adapt_to:
        from pgssl_core.models.adapt_bn import ADAPT_ALPHA
        from pgssl_core.project.adapted_model import adapt_to_rasters

        model, crops = adapt_to_rasters(model, config, adapt_to, settings.gsd_m, settings.stated_gsd_m,
                                        device=settings.device)
        say(f"note: --adapt-bn: BatchNorm statistics re-estimated on {crops} crops of {len(adapt_to)} inputs, "
            f"weight {ADAPT_ALPHA:g} against the model's own (no labels used; the model file is unchanged)")
    return model, config


def predict_inputs(model_path: Path, inputs: list[Path], out_dir: Path, settings: PredictSettings,
                   footprints: FootprintOptions | None = None, adapt_bn: bool = False, resume: bool = False,
                   band_min_px: int = BAND_MIN_PX, progress_for: ProgressFactory = no_progress,
                   report_line: Callable[[str], None] = print) -> PredictRun:
    """Predict ``inputs`` into ``out_dir/<stem>_<output>.tif`` (and footprints), alone or as one rank of the
    current torchrun group (every rank calls it; see :func:`~pgssl_core.infer.pipeline.predict_rasters`).

    Raises:
        PgsslError: two inputs with the same file name (their outputs would collide).
    """
    from pgssl_core.assess import write_vector
    from pgssl_core.assess.inputs import raw_outlines
    from pgssl_core.project.sharded_footprints import joined_footprints

    started = time.perf_counter()
    info = distributed.current()
    speaks = not info.distributed or info.local_rank == 0
    model, config = load_for_prediction(model_path, settings, inputs if adapt_bn else None,
                                        say=lambda line: print(line, file=sys.stderr) if speaks else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(path, out_dir / f"{path.stem}_{settings.output}.tif") for path in inputs]
    if len({dst for _, dst in jobs}) < len(jobs):
        raise PgsslError("two inputs have the same file name: their outputs would collide in --out")
    reports = predict_rasters(model, config, jobs, settings, raw_outlines if footprints is not None else None,
                              resume, band_min_px, progress_for, report_line)
    run = PredictRun(reports, 0.0)
    if footprints is not None and info.is_main:
        joined, _ = joined_footprints(reports, footprints.min_area_m2, footprints.simplify_m, footprints.regularize)
        # rebuilt as a plain GeoDataFrame of the join's columns, as the command has always written it
        write_vector(gpd.GeoDataFrame(pd.DataFrame(joined), crs=joined.crs), footprints.path, "footprints")
        run.footprints, run.footprint_m2 = len(joined), float(joined["area_m2"].sum())
    run.wall_s = time.perf_counter() - started
    return run
