"""Streamlit side of the report features: model-error ranges, largest roofs and the report button on the Map page;
"did pretraining help?" on the Train page. Everything heavy is a ``pgssl_core`` call; pages hook in
with one line (``map_extras`` / ``pretraining_panel``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from app.jobs import JobRegistry, LiveJob, job_registry
from pgssl_core.catalog import Project, RunKind
from pgssl_core.errors import PgsslError

if TYPE_CHECKING:  # the Train page imports this module: the assessment stack loads only on the Map page
    from pgssl_core.assess.buildings_pv import BuildingJoin
    from pgssl_core.assess.model_error import AreaCorrection
    from pgssl_core.assess.pv import PVAssumptions
    from pgssl_core.project.predict import ProjectMaps

ROOF_COLUMNS = {"building_id": "Building", "district": "District", "roof_area_m2": "Roof m²", "usable_m2": "Usable m²",
                "kwp": "kWp", "kwp_low": "kWp low", "kwp_high": "kWp high", "kwh_yr": "kWh/yr",
                "kwh_yr_low": "kWh/yr low", "kwh_yr_high": "kWh/yr high", "co2_t_yr": "CO₂ t/yr"}
CORRECTED_COLUMNS = {"district": "District", "footprint_m2": "Predicted m²", "footprint_m2_corrected": "Corrected m²",
                     "footprint_m2_corrected_low": "Corrected low", "footprint_m2_corrected_high": "Corrected high",
                     "capacity_mwp_corrected": "MWp", "capacity_mwp_corrected_low": "MWp low",
                     "capacity_mwp_corrected_high": "MWp high", "generation_gwh_corrected": "GWh/yr",
                     "generation_gwh_corrected_low": "GWh/yr low", "generation_gwh_corrected_high": "GWh/yr high"}


# ---------------------------------------------------------------- cached library calls


@st.cache_resource(max_entries=4, show_spinner="Placing every building in its district…")
def _building_join(out_dir: str, finished: float, districts_key: str, _table) -> BuildingJoin:
    # _table: the district table of the same layers (not hashed; out_dir + finished identify it)
    from pgssl_core.assess.buildings_pv import join_building_districts
    from pgssl_core.project.predict import load_project_maps, read_layers

    footprints, _extents = read_layers(load_project_maps(out_dir))
    return join_building_districts(footprints, _table)


@st.cache_resource(max_entries=8, show_spinner="Measuring the model's error on its validation tiles…")
def _correction(project_root: str, out_dir: str, finished: float) -> AreaCorrection:
    from pgssl_core.project.predict import load_project_maps
    from pgssl_core.report.gather import find_run, model_correction

    maps = load_project_maps(out_dir)
    with Project.open(Path(project_root)) as project:
        return model_correction(project, find_run(project, maps), maps)


def _key(maps: ProjectMaps) -> tuple[str, float]:
    return str(maps.out_dir), float(maps.manifest.get("finished", 0))


# ---------------------------------------------------------------- Map page


def model_error_table(project: Project, maps: ProjectMaps, table) -> None:
    """District roof areas corrected for the model's measured error, with intervals and the method."""
    from pgssl_core.assess.model_error import __doc__ as model_error_doc
    from pgssl_core.assess.model_error import corrected_district_table

    st.subheader("Roof area corrected for the model's error")
    try:
        correction = _correction(str(project.root), *_key(maps))
    except PgsslError as exc:
        st.warning(f"Model error not measured: {exc}")
        return
    if correction.known:
        st.caption(f"Model error: {correction.status}. Area factor P/R = {correction.factor:.3f}"
                   + (f" ({correction.level:.0%} interval {correction.factor_low:.3f}-{correction.factor_high:.3f})."
                      if correction.tiles >= 2 else "."))
    else:
        st.warning(f"**Model error unknown** ({correction.source}): the corrected area equals the predicted area and "
                   "its interval is left empty; the PV ranges hold the assumptions only.")
    full = pd.DataFrame(corrected_district_table(table, correction).drop(columns="geometry"))
    corrected = full[full["footprint_m2"].notna()] if "footprint_m2" in full else full
    shown = corrected[[c for c in CORRECTED_COLUMNS if c in corrected]].rename(columns=CORRECTED_COLUMNS)
    st.dataframe(shown, hide_index=True, width="stretch")
    st.download_button("Districts with corrected areas (CSV)",
                       full.to_csv(index=False, float_format="%.6g").encode("utf-8"), "districts_corrected.csv",
                       "text/csv", key="dl_corrected_csv")
    with st.expander("How the correction works, and its limits"):
        st.markdown((model_error_doc or "").split("\n\n", 1)[-1])


def largest_roofs_table(maps: ProjectMaps, table, assumptions: PVAssumptions, n: int = 0) -> pd.DataFrame | None:
    """Sortable table of the ``n`` largest roofs (0: ``app.map_interactive.LARGEST_ROOFS_N``) with their PV
    figures, one row selectable to show it on the map; returns the whole building table."""
    from pgssl_core.assess.buildings_pv import largest_roofs

    st.subheader("Largest roofs")
    if table is None or not len(table):
        st.caption("No per-building figures: the buildings lie outside the district boundaries.")
        return None
    joined = _building_join(*_key(maps), "beijing", table)
    buildings = joined.with_assumptions(assumptions)
    from app.map_interactive import LARGEST_ROOFS_N, ROOFS_KEY

    top = largest_roofs(buildings, n or LARGEST_ROOFS_N)
    # a selected row is shown on the map above (read there from this widget's state on the rerun)
    st.dataframe(top[[c for c in ROOF_COLUMNS if c in top]].rename(columns=ROOF_COLUMNS), hide_index=True,
                 width="stretch", on_select="rerun", selection_mode="single-row", key=ROOFS_KEY)
    st.caption(f"The {len(top)} largest of {len(buildings):,} roofs; click a column header to sort, select a row "
               "to see that roof on the map. Per-building ranges hold the PV assumptions only. Every building: "
               "the CSV below.")
    from pgssl_core.assess import write_vector
    from pgssl_core.assess.buildings_pv import write_buildings_csv

    c1, c2 = st.columns(2)
    csv = write_buildings_csv(buildings, maps.out_dir / "buildings_pv.csv")
    c1.download_button("Buildings with PV (CSV)", csv.read_bytes(), "buildings_pv.csv", "text/csv",
                       key="dl_buildings_pv")
    gpkg = write_vector(buildings, maps.out_dir / "buildings_pv.gpkg", layer="buildings")
    c2.download_button("Buildings with PV (GeoPackage)", gpkg.read_bytes(), "buildings_pv.gpkg",
                       "application/geopackage+sqlite3", key="dl_buildings_pv_gpkg")
    return buildings


def report_button(project: Project, maps: ProjectMaps, assumptions: PVAssumptions) -> None:
    """One click: the self-contained HTML report of these layers at the current assumptions."""
    from pgssl_core.report import export_report

    out = maps.out_dir / "report.html"
    if st.button("Export report (HTML)", icon=":material/description:", key="report_export"):
        with st.spinner("Writing the report…"):
            try:
                export_report(project.root, out, maps.out_dir, assumptions)
            except PgsslError as exc:
                st.error(str(exc))
                return
        st.session_state["report_ready"] = str(out)
    if st.session_state.get("report_ready") == str(out) and out.is_file():
        st.download_button("Download report.html", out.read_bytes(), "report.html", "text/html", key="dl_report")


def with_building_district(view):
    """``view`` (``app.mappage.MapView``) whose footprints carry their ``district`` for the map's tooltip;
    unchanged when there is no district table. No PV figure: the map stays the same when a PV slider moves
    (per-building PV is in the "Largest roofs" table and the buildings CSV)."""
    from dataclasses import replace

    if view.assessment.report is None or not len(view.footprints):
        return view
    districts_key = "|".join(map(str, view.assessment.table["district"]))  # uploaded boundaries differ
    join = _building_join(*_key(view.maps), districts_key, view.assessment.table)
    footprints = view.footprints.copy()
    rows = footprints.index.to_numpy()  # positions in the layer file (the Map page may leave small ones out)
    footprints["district"] = join.buildings["district"].to_numpy()[rows]
    return replace(view, footprints=footprints)


def building_pv(view, assumptions: PVAssumptions):
    """Per-building PV table (``pgssl_core.assess.buildings_pv``) of every footprint of ``view``'s layers at
    ``assumptions``, for the map's roof colours and clicks; None when there is no district table."""
    if view.assessment.report is None or not len(view.footprints):
        return None
    districts_key = "|".join(map(str, view.assessment.table["district"]))  # uploaded boundaries differ
    return _building_join(*_key(view.maps), districts_key, view.assessment.table).with_assumptions(assumptions)


def map_extras(project: Project, view, assumptions: PVAssumptions) -> None:
    """The model-error ranges, largest roofs and report button below the Map page's table
    (``view``: ``app.mappage.MapView``)."""
    table = view.assessment.table if view.assessment.report is not None else None
    if table is not None:
        model_error_table(project, view.maps, table)
    largest_roofs_table(view.maps, table, assumptions)
    report_button(project, view.maps, assumptions)


# ---------------------------------------------------------------- Train page


def _baseline_jobs() -> JobRegistry:
    """Baseline jobs started by this server process, by the id of the pgssl run they are compared with."""
    return job_registry("baseline")


def _start_baseline(project: Project, run_id: str, run_dir: Path) -> None:
    from pgssl_core.project.baseline_compare import start_baseline_run
    from pgssl_core.report.gather import run_data, run_info
    from pgssl_core.train import run_model_path

    run = run_info(run_model_path(run_dir))
    if run is None:
        raise PgsslError(f"run {run_dir.name} has no readable training config")
    started = start_baseline_run(project, run_id, run_data(project, run))
    _baseline_jobs().add(LiveJob(project.root, run_id, started.job))  # by the run it is compared with


def pretraining_panel(project: Project) -> None:
    """"Did pretraining help?" for the project's finished pgssl runs, and the label-budget curve."""
    from pgssl_core.project.baseline_compare import (
        baseline_dir,
        compare_with_baseline,
        label_budget,
        load_comparison,
        read_result,
        round_ious,
    )
    from pgssl_core.train import run_model_path

    st.subheader("Did pretraining help?")
    runs = [r for r in reversed(project.runs()) if r.kind == RunKind.TRAIN and run_model_path(r.path) is not None]
    pgssl_runs = [r for r in runs if (read_result(r.path) or {}).get("method") == "pgssl"]
    if not pgssl_runs:
        st.caption("Finish a pgssl run to compare it with a supervised baseline on the same labelled tiles.")
        return
    run = st.selectbox("pgssl run", pgssl_runs, format_func=lambda r: r.id, key="verdict_run")
    run_dir = run.path
    rounds = pd.DataFrame(round_ious((read_result(run_dir) or {}).get("history", [])))
    if len(rounds):
        st.caption("Validation IoU per round (did each alternating round help?)")
        st.dataframe(rounds, hide_index=True)
    comparison = load_comparison(run_dir)
    live = _baseline_jobs().get(run.id)
    job = live.job if live is not None else None
    if comparison is None and run_model_path(baseline_dir(run_dir)) is not None and not (job and job.alive):
        from pgssl_core.report.gather import run_info, validation_samples

        try:
            with st.spinner("Comparing both models on the validation tiles…"):
                info = run_info(run_model_path(run_dir))
                comparison = compare_with_baseline(run_dir, validation_samples(project, info))
        except PgsslError as exc:
            st.warning(str(exc))
    if comparison is not None:
        st.info(comparison.verdict)
        st.caption(f"Val IoU {comparison.iou_pgssl:.3f} (pgssl) against {comparison.iou_baseline:.3f} (supervised "
                   f"baseline: same labelled tiles, same labelled steps), both on the same {comparison.tiles} "
                   "validation tiles.")
    elif job is not None and job.alive:
        st.caption("The supervised baseline is training in the background; reload the page to see the verdict.")
    elif st.button("Train the supervised baseline (same labelled tiles, same labelled steps)", key="verdict_start"):
        try:
            _start_baseline(project, run.id, run_dir)
        except PgsslError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    points = pd.DataFrame(label_budget([r.path for r in runs]))
    if len(points) >= 2:
        st.caption("Label budget: best val IoU against labelled tiles over this project's runs")
        st.scatter_chart(points, x="labelled", y="best_iou", color="method")
