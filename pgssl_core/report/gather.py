"""Everything a project report shows, gathered from the project folder (no rendering here).

Sources, in order:
- buildings: the given map folder, else the newest finished prediction, else the reference masks;
- the training run: the run whose model made the predictions (its folder holds a run card,
  :func:`pgssl_core.train.rounds.read_run_card`), else the project's active model's run; none for reference masks;
- model error: the run's model on its validation tiles (counted by :mod:`pgssl_core.project.measure_model`,
  corrected by :mod:`pgssl_core.assess.model_error`), cached in ``RUN_DIR/model_error.json`` for that model
  file; reference masks have no model error;
- "did pretraining help?": ``RUN_DIR/baseline/comparison.json`` when the baseline was trained.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pgssl_core.assess.buildings_pv import join_building_districts
from pgssl_core.assess.model_error import (
    AreaCorrection,
    TileConfusion,
    area_correction,
    corrected_district_table,
    exact_correction,
    load_counts,
    save_correction,
    unknown_correction,
)
from pgssl_core.assess.project_boundaries import districts_for, project_boundaries
from pgssl_core.assess.pv import PVAssumptions
from pgssl_core.catalog import Project, RunKind, RunRecord
from pgssl_core.catalog.layout import REFERENCE_MAPS_DIR
from pgssl_core.errors import PgsslError
from pgssl_core.project.active_model import active_model_path
from pgssl_core.project.assessment import Assessment, prepare_place_assessment
from pgssl_core.project.measure_model import tile_confusions
from pgssl_core.project.predict import ProjectMaps, load_project_maps, read_layers, reference_footprints
from pgssl_core.train.data import TrainingData
from pgssl_core.train.rounds import read_run_card

MODEL_ERROR_FILE = "model_error.json"
GROUND_TRUTH = "reference masks (ground truth): no model error"


@dataclass
class RunInfo:
    """The training run behind the buildings: folder, run card (``config``, see ``read_run_card``) and
    result, model file."""

    run_dir: Path
    config: dict[str, Any]
    result: dict[str, Any] | None
    model_path: Path | None


@dataclass
class ReportData:
    """The content of a report. ``districts``: district table with corrected columns (no geometry in
    ``district_frame``); ``buildings``: per-building PV (WGS84); ``correction``: the model error."""

    project_name: str
    maps: ProjectMaps
    assessment: Assessment
    assumptions: PVAssumptions
    buildings: gpd.GeoDataFrame
    correction: AreaCorrection
    run: RunInfo | None
    comparison: Any = None  # baseline_compare.Comparison or None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    district_note: str | None = None
    created: float = field(default_factory=time.time)

    @property
    def districts(self) -> gpd.GeoDataFrame:
        """The district table of the assessment (one row per district, with geometry)."""
        return self.assessment.table

    def district_frame(self) -> pd.DataFrame:
        """The district table without geometry, as the CSV holds it."""
        table = self.districts
        return pd.DataFrame(table.drop(columns=table.geometry.name)) if len(table.columns) else pd.DataFrame()


def default_maps(project: Project) -> ProjectMaps:
    """The newest finished prediction of the project, else its reference-mask layers (built if needed)."""
    for run in reversed(project.runs()):
        if run.kind == RunKind.PREDICT:
            maps = load_project_maps(run.path)
            if maps is not None:
                return maps
    if any(r.has_reference for r in project.tiles()):
        return reference_footprints(project, project.root / REFERENCE_MAPS_DIR)
    raise PgsslError(f"project {project.name!r} has nothing to report yet: no finished prediction and no reference "
                     "masks; train a model and predict all tiles on the Map page first")


def run_info(model: str | os.PathLike[str] | None) -> RunInfo | None:
    """The training run that produced ``model``, read from the model's folder.

    Args:
        model: Path of a model file inside a run folder, or None.

    Returns:
        The run's folder, run card, ``result.json`` (None if absent) and model path (None if the file is
        gone); None when ``model`` is empty or its folder holds no readable run card.
    """
    if not model:
        return None
    path = Path(model)
    folder = path.parent
    config = read_run_card(folder)
    if config is None:
        return None
    result_path = folder / "result.json"
    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.is_file() else None
    return RunInfo(folder, config, result, path if path.is_file() else None)


def find_run(project: Project, maps: ProjectMaps) -> RunInfo | None:
    """The run whose model made ``maps``; for reference maps the active model's run (or None)."""
    if maps.manifest.get("source") == "model":
        return run_info(maps.manifest.get("model"))
    active = active_model_path(project)
    return run_info(active) if active is not None else None


def _catalog_run(project: Project, run_dir: Path) -> RunRecord | None:
    return next((r for r in project.runs() if r.path.resolve() == run_dir.resolve()), None)


def run_data(project: Project, run: RunInfo) -> TrainingData:
    """The run's labelled and validation tiles (no pool), chosen again as the run chose them.

    The plan is recomputed with the run's seed and its number of validation tiles: the seeded pick
    takes the first tiles of one permutation, so the same tiles come back as long as the project's
    tiles and labels are the ones the run saw. Ids recorded in the run's catalog config
    (``data.train_ids`` / ``data.val_ids``) or a baseline's ``tiles.json`` name the tiles exactly.
    Raises PgsslError when the project has too few labels now.
    """
    from pgssl_core.project.data_plan import DataPlan, load_plan, plan_project_data

    catalog = _catalog_run(project, run.run_dir)
    app_config = catalog.config if catalog else {}
    seed = int(app_config.get("seed", run.config.get("train", {}).get("seed", 0)))
    n_val = max(int(run.config.get("data", {}).get("val", 0)), 1)
    plan = plan_project_data(project, seed=seed, max_val=n_val)
    named = run.run_dir / "baseline" / "tiles.json"
    train, val = tuple(plan.train), tuple(plan.val)
    recorded = app_config.get("data", {})  # tile ids, where the app recorded them when the run started
    train, val = tuple(recorded.get("train_ids", train)), tuple(recorded.get("val_ids", val))
    if named.is_file():
        val = tuple(json.loads(named.read_text(encoding="utf-8")).get("val", val))
    return load_plan(project, DataPlan(train, (), val, plan.val_source))


def validation_samples(project: Project, run: RunInfo) -> list[dict[str, Any]]:
    """The run's validation tiles with their masks (see :func:`run_data`); [] when the run had none."""
    if int(run.config.get("data", {}).get("val", 0)) == 0:
        return []
    return run_data(project, run).val


def _model_key(model_path: Path, threshold: float) -> str:
    """Names the model file's version and the threshold the cached counts were measured with."""
    key = f"{model_path.name}@{model_path.stat().st_mtime_ns}"
    return key if threshold == 0.5 else f"{key}@{threshold:g}"  # 0.5: the form of caches written before


def validation_counts(project: Project, run: RunInfo, threshold: float = 0.5,
                      device: str | None = None) -> list[TileConfusion]:
    """Building pixel counts of the run's model on each of its validation tiles ([] when the run had
    none; names as the run's samples name them), cached in ``RUN_DIR/model_error.json`` per model file
    and threshold. Raises PgsslError when the run has no model or its tiles cannot be read."""
    if run.model_path is None:
        raise PgsslError(f"run {run.run_dir.name} has no model file")
    cache, key = run.run_dir / MODEL_ERROR_FILE, _model_key(run.model_path, threshold)
    try:
        source, counts = load_counts(cache) if cache.is_file() else ("", [])
    except PgsslError:  # an unreadable cache is measured again and overwritten
        source = ""
    if source == key:
        return counts
    samples = validation_samples(project, run)
    if not samples:
        return []
    counts = tile_confusions(run.model_path, samples, threshold=threshold, device=device)
    save_correction(cache, area_correction(counts, source=key), counts)
    return counts


def model_correction(project: Project, run: RunInfo | None, maps: ProjectMaps,
                     device: str | None = None) -> AreaCorrection:
    """The area correction of the buildings in ``maps`` (see the module doc), cached per model file."""
    if maps.manifest.get("source") == "reference":
        return exact_correction(GROUND_TRUTH)
    if run is None or run.model_path is None:
        return unknown_correction("the model's training run is not in this project")
    threshold = float(maps.manifest.get("threshold", 0.5))
    try:
        counts = validation_counts(project, run, threshold, device)
    except PgsslError as exc:
        return unknown_correction(f"validation tiles not available: {exc}")
    if not counts:
        return unknown_correction("the run had no validation tiles")
    return area_correction(counts, source=_model_key(run.model_path, threshold))


def gather_report(project: Project, maps: ProjectMaps | None = None, assumptions: PVAssumptions | None = None,
                  districts: str | os.PathLike[str] | gpd.GeoDataFrame | None = None, cell_m: float = 100.0,
                  device: str | None = None) -> ReportData:
    """Collect a project's report content (see the module doc).

    ``districts``: as for ``aggregate_districts``; None: the project's own (an uploaded boundary file,
    else the shipped Beijing districts). Where they do not cover the tiles, the imaged area is reported
    as one row with its PV figures (``prepare_place_assessment``), as the Map page shows it. The PV
    assumptions are resolved at the project's site: ``ReportData.assumptions`` holds the values used.
    Raises PgsslError when there is nothing to report.
    """
    from pgssl_core.project.baseline_compare import label_budget, load_comparison, round_ious

    maps = maps or default_maps(project)
    footprints, extents = read_layers(maps)
    label = "the given district boundaries"
    if districts is None:
        choice = project_boundaries(project)
        districts, label = districts_for(choice), choice.label
    assessment, note = prepare_place_assessment(footprints, extents, districts, label, assumptions, cell_m=cell_m)
    a = assessment.resolve(assumptions)
    run = find_run(project, maps)
    correction = model_correction(project, run, maps, device)
    if assessment.report is not None:
        table = corrected_district_table(assessment.report.table, correction)
        assessment.report.table = table
        buildings = join_building_districts(footprints, table).with_assumptions(a)
    else:
        buildings = gpd.GeoDataFrame({"roof_area_m2": footprints.get("area_m2", pd.Series(dtype=float))},
                                     geometry=footprints.geometry, crs=footprints.crs)
    train_runs = [r.path for r in project.runs() if r.kind == RunKind.TRAIN]
    return ReportData(project.name, maps, assessment, a, buildings.to_crs(4326) if len(buildings) else buildings,
                      correction, run, load_comparison(run.run_dir) if run else None,
                      round_ious((run.result or {}).get("history", [])) if run else [],
                      label_budget(train_runs), note)
