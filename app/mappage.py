"""Streamlit side of the Map page: layer source, "predict all tiles" job, PV sliders, map, table, downloads.

Heavy work is cached per server process: the map layers of an output folder (keyed by its
manifest time, so a new prediction is picked up), the geometry part of the assessment and the
tile overlays. A slider move only redoes the PV arithmetic (``Assessment.with_assumptions``).
The prediction job runs on a thread (``PredictJob``) and is polled by a fragment.

The base map carries no PV figure (:func:`map_districts`), so a PV slider move leaves its script as it
was and the browser keeps the drawn map (a redraw cost 6-8 s per slider move); the roofs
coloured by PV come in as a layer that streamlit-folium swaps in place, and a click on a district or a
roof shows its figures under the map (:mod:`app.map_interactive`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from app.boundaries import BoundaryChoice, districts_for
from app.jobs import JobRegistry, LiveJob, job_registry
from app.map_controls import OUTLINE_ZOOM
from app.map_interactive import project_map
from app.map_overlays import MAX_OVERLAYS, tile_overlays
from app.mapview import METRICS, PV_FREE_METRICS, MapData, build_map
from app.mask_names import renamed_masks_zip
from app.predict_part import drawn_part
from pgssl_core.assess import PVAssumptions, write_district_csv
from pgssl_core.assess.grid_emissions import EF_MAX_T_MWH, grid_factor
from pgssl_core.catalog import Project, RunKind
from pgssl_core.catalog.layout import REFERENCE_MAPS_DIR
from pgssl_core.errors import PgsslError
from pgssl_core.project.assessment import Assessment, prepare_place_assessment
from pgssl_core.project.predict import (
    ProjectMaps,
    load_project_maps,
    read_layers,
    reference_footprints,
)

PREDICT_KIND = RunKind.PREDICT
CELL_M = 100.0  # density grid cell side (m)
# Smallest footprint counted by default (m²): a 1 kWp system needs ~5-7 m² of modules (about 15-20%
# efficient), a 10 m² roof at the default 50% usable share. In an end-to-end trial of the app 55 of 593
# predicted footprints were below it, specks of a few pixels.
DEFAULT_MIN_AREA_M2 = 10
REFERENCE_CHOICE = "Reference masks (ground truth)"
SOURCE_KEY = "map_source"


# ---------------------------------------------------------------- cached heavy parts


@st.cache_resource(max_entries=4, show_spinner="Building footprints from the reference masks…")
def _reference_maps(project_root: str, tile_key: tuple[str, ...]) -> str:
    # tile_key: rebuilt when tiles are added or removed
    with Project.open(Path(project_root)) as project:
        return str(reference_footprints(project, Path(project_root) / REFERENCE_MAPS_DIR).out_dir)


@st.cache_resource(max_entries=4, show_spinner="Aggregating districts and the density grid…")
def _prepared(out_dir: str, finished: float, cell_m: float, boundaries: BoundaryChoice = BoundaryChoice(),
              min_area_m2: float = 0.0):
    """(footprints, extents, assessment, note); ``note`` says why the table holds the imaged area as one
    row when no district boundary covers the tiles. Footprints under ``min_area_m2`` are left out."""
    maps = load_project_maps(out_dir)
    footprints, extents = read_layers(maps)
    if min_area_m2 > 0:
        footprints = footprints[footprints["area_m2"] >= min_area_m2]  # index kept: rows of the layer file
    # e.g. a city other than Beijing: totals for the imaged area itself, as the report gives them
    assessment, note = prepare_place_assessment(footprints, extents, districts_for(boundaries), boundaries.label,
                                                cell_m=cell_m)
    return footprints, extents, assessment, note


@st.cache_resource(max_entries=4, show_spinner="Preparing tile imagery…")
def _overlays(project_root: str, tile_key: tuple[str, ...], offset: int = 0):
    with Project.open(Path(project_root)) as project:
        return tile_overlays(project, offset=offset)


def _tile_key(project: Project) -> tuple[str, ...]:
    return tuple(r.id for r in project.tiles() if r.georeferenced)


# ---------------------------------------------------------------- predict-all job registry


def _jobs() -> JobRegistry:
    """The predict-all jobs of this server process."""
    return job_registry(PREDICT_KIND)


def _status(run: dict) -> dict:
    """Live snapshot if this process runs it, else the status file (dead owners read as interrupted)."""
    return _jobs().status(run) or {"state": run["status"]}


def predict_runs(project: Project) -> list[dict]:
    """Prediction runs, newest first, each with its ``state``."""
    runs = [r for r in project.runs() if r["kind"] == PREDICT_KIND]
    return [{**r, "state": _status(r).get("state")} for r in reversed(runs)]


WATCH_KEY = "predict_watch"  # the prediction run this session started and has not reported yet


def _start(project: Project, model: Path, resume: dict | None, tile_ids: list[str] | None = None) -> None:
    from pgssl_core.project.predict_job import PredictJob
    from pgssl_core.project.run_jobs import resume_run, start_run

    def make_job(_run_id: str, folder: Path) -> PredictJob:
        return PredictJob(project.root, model, folder, tile_ids=tile_ids)

    # the run's row, start and filed result: pgssl_core.project.run_jobs
    started = (resume_run(project, project.run(resume["id"]), make_job) if resume is not None else
               start_run(project, PREDICT_KIND, _run_config(model, tile_ids), make_job))
    _jobs().add(LiveJob(project.root, started.run_id, started.job))
    st.session_state[WATCH_KEY] = started.run_id


def prediction_label(run: dict) -> str:
    """The "Buildings from" option of a prediction run (unique: it names the run)."""
    from pgssl_core.models.init_model import BASE_MODEL_PATH
    from pgssl_core.project.adapted_model import is_adapted_base

    model = Path(run["config"].get("model", ""))
    name = "base model" if model == BASE_MODEL_PATH else \
        "base model adapted to your tiles" if is_adapted_base(model) else model.name
    part = run["config"].get("tile_ids")
    where = "" if part is None else f", {counted(len(part), 'tile')} of a drawn area"
    return f"Prediction {run['id']} ({name}{where})"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless one: "1 tile", "1,204 buildings"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _run_config(model: Path, tile_ids: list[str] | None) -> dict:
    """A prediction run's catalog config: the model, and the tiles of a drawn area when it predicts part."""
    return {"model": str(model), **({"tile_ids": tile_ids} if tile_ids is not None else {})}


def _report_finished(project: Project) -> None:
    """Once the prediction this session started has ended: select it on the map and say what it found."""
    watched = st.session_state.get(WATCH_KEY)
    run = next((r for r in predict_runs(project) if r["id"] == watched), None) if watched else None
    if run is None or run["state"] in ("queued", "running"):
        return
    del st.session_state[WATCH_KEY]
    if run["state"] == "done":
        status = _status(run)
        st.session_state[SOURCE_KEY] = prediction_label(run)  # the map shows the new prediction
        st.success(f"Prediction finished: {counted(status.get('footprints', 0), 'building')} found on "
                   f"{counted(status.get('tiles', 0), 'tile')}. The map below shows them.",
                   icon=":material/check_circle:")
    else:
        st.warning(f"Prediction {run['state']}: {_status(run).get('error') or 'no result'}. "
                   "Press the button again to resume it.")


def predict_all_tiles(project: Project) -> None:
    """Start (or resume) predicting every tile, or those of an area drawn on a map of the tiles, with the
    active model; progress polled by a fragment; when the run ends, the map switches to it and a message
    gives the number of buildings found."""
    st.subheader("Predict all tiles")
    _report_finished(project)
    from pgssl_core.project.adapted_model import project_model_choice  # torch only on a page that predicts

    choice = project_model_choice(project)
    if choice is None:
        meanwhile = (" The map shows the reference masks meanwhile." if any(r.has_reference for r in project.tiles())
                     else "")
        st.caption(f"No active model yet: train one on the Train page.{meanwhile}")
        return
    model = choice.path
    if choice.is_base:
        st.info(f"Predictions use {choice.label}.", icon=":material/info:")
    if _jobs().active() is not None:
        _progress_fragment(project.root)
        return
    part = drawn_part(project, lambda: _overlays(str(project.root), _tile_key(project)))  # None: every tile
    same = [r for r in predict_runs(project)
            if r["config"].get("model") == str(model) and r["config"].get("tile_ids") == part]
    unfinished = next((r for r in same if r["state"] in ("interrupted", "cancelled", "failed")), None)
    label = "Resume prediction" if unfinished else "Predict all tiles" if part is None else \
        f"Predict the {counted(len(part), 'tile')} in the area"
    if not choice.is_base:
        st.caption(f"Active model: {model.name}")
    if st.button(label, icon=":material/play_arrow:", key="predict_all", disabled=part == []):
        try:
            if not model.is_file():  # the base model adapted to the tiles: made once per tile set
                from pgssl_core.project.adapted_model import ensure_model_file

                with st.spinner("Adapting the base model to your tiles (BatchNorm statistics only, no labels)…"):
                    model = ensure_model_file(project, choice)
            _start(project, model, unfinished, part)
        except PgsslError as exc:
            st.error(str(exc))
            return
        st.rerun()


@st.fragment(run_every=1.0)
def _progress_fragment(project_root: Path) -> None:
    with Project.open(project_root) as project:
        runs = predict_runs(project)
    live = next((r for r in runs if (job := _jobs().get(r["id"])) is not None and job.job.alive), None)
    if live is None:
        st.rerun()  # finished: redraw the whole page with the new layers
        return
    progress = _status(live).get("progress") or {}
    done, total = progress.get("done", 0), progress.get("total") or 0
    st.progress(done / total if total else 0.0, text=f"Predicting tile {done} of {total or '…'}")
    if st.button("Cancel", key="predict_cancel"):
        _jobs().get(live["id"]).job.cancel()


# ---------------------------------------------------------------- layer source and assessment


@dataclass
class MapView:
    """The chosen building source, its footprints and the assessment at the current PV assumptions."""

    maps: ProjectMaps
    footprints: object
    assessment: Assessment
    district_note: str | None = None  # why the table is not split by district, if it is not
    extents: object = None  # imaged tile extents (GeoDataFrame)


def choose_layers(project: Project) -> ProjectMaps | None:
    """Radio: reference masks or a finished prediction run; returns its output folder."""
    choices: dict[str, str | None] = {}
    for run in predict_runs(project):
        if run["state"] == "done":
            choices[prediction_label(run)] = run["path"]
    if any(r.has_reference for r in project.tiles()):
        choices[REFERENCE_CHOICE] = None
    if not choices:
        return None
    if st.session_state.get(SOURCE_KEY) not in choices:
        st.session_state.pop(SOURCE_KEY, None)  # e.g. another project's run: start from the newest
    choice = st.radio("Buildings from", list(choices), key=SOURCE_KEY, horizontal=True)
    try:
        if choices[choice] is None:
            return load_project_maps(_reference_maps(str(project.root), _tile_key(project)))
        return load_project_maps(choices[choice])
    except PgsslError as exc:
        st.error(str(exc))
        return None


# Slider ranges that cover real sites: tilt from flat to vertical; annual GHI from about 800 kWh/m2 (northern
# Europe) to about 2,600 (Atacama) with margin; grid emission factors from hydro/nuclear grids near 0 to the
# most coal-heavy (about 1.0; grid_emissions.EF_MAX_T_MWH).
SITE_SLIDERS = {  # field -> (label, low, high, step, format)
    "tilt_deg": ("Tilt (°; the site's latitude until moved)", 0.0, 90.0, 1.0, "%.1f"),
    "annual_ghi_kwh_m2": ("Annual GHI (kWh/m²; the site's own estimate until moved)", 400.0, 2800.0, 25.0, "%.0f"),
    "emission_factor_t_mwh": ("Grid emission factor (tCO₂/MWh; the site's country until moved)", 0.0,
                              EF_MAX_T_MWH, 0.01, "%.4f"),
}


def pv_sliders(view: MapView) -> PVAssumptions:
    """Sidebar sliders for the PV assumptions, each showing the value the figures use.

    Tilt, azimuth, irradiation and grid emission factor follow the project's site (the imaged area's
    centre, ``Assessment.resolve``) until a slider is moved; the azimuth and the grid's country are
    stated under the sliders, and an unknown country is asked for. Returns the assumptions used.
    """
    a = view.assessment.resolve()
    site = view.assessment.site
    tag = "" if site is None else f"@{site[0]:.3f},{site[1]:.3f}"  # new site, new slider defaults
    with st.sidebar:
        st.subheader("PV assumptions")
        values = {
            "usable_roof_share": st.slider("Usable roof share", 0.1, 0.9, a.usable_roof_share.value, 0.05,
                                           help=a.usable_roof_share.source, key="pv_share"),
            "module_efficiency": st.slider("Module efficiency", 0.10, 0.25, a.module_efficiency.value, 0.01,
                                           help=a.module_efficiency.source, key="pv_eff"),
            "system_losses": st.slider("System losses", 0.0, 0.4, a.system_losses.value, 0.01,
                                       help=a.system_losses.source, key="pv_losses"),
        }
        for name, (label, low, high, step, fmt) in SITE_SLIDERS.items():
            item = getattr(a, name)
            values[name] = st.slider(label, low, high, min(max(item.value, low), high), step, format=fmt,
                                     help=item.source, key=f"pv_{name}{tag}")
        st.caption(site_caption(a, site))
        if site is not None and not grid_factor(*site).known:
            st.warning("This site's country is not in the table of grid emission factors: the world average is "
                       "used. Set your grid's factor above.", icon=":material/help:")
    return a.with_changed(**values)  # untouched sliders keep the site's values


def site_caption(a: PVAssumptions, site: tuple[float, float] | None) -> str:
    """One line: where the site is, which way the modules face, and the grid the emission factor is for."""
    if site is None:
        return "No site: the PV defaults are the table's."
    lat, lon = site
    facing = "north" if a.azimuth_deg.value == 0.0 else "south" if a.azimuth_deg.value == 180.0 else \
        f"{a.azimuth_deg.value:g}° from north"
    return (f"Site {lat:.2f}°, {lon:.2f}° (centre of the imaged area): modules face {facing} "
            f"(azimuth {a.azimuth_deg.value:g}°), toward the equator; grid: {grid_factor(lat, lon).country}.")


def min_area_slider() -> float:
    """Sidebar slider: the smallest footprint counted (m²); specks of a few pixels are not roofs."""
    with st.sidebar:
        return float(st.slider("Smallest building (m²)", 0, 50, DEFAULT_MIN_AREA_M2, 1, key="map_min_area",
                               help="Footprints smaller than this are left out of the map, the table and the totals "
                                    "(the GeoPackage download keeps every footprint with its area_m2). A 1 kWp "
                                    "system needs about 5-7 m² of modules, i.e. a roof of about 10 m² at a 50% "
                                    "usable share."))


def map_view(maps: ProjectMaps, boundaries: BoundaryChoice = BoundaryChoice(), min_area_m2: float = 0.0) -> MapView:
    """Footprints and the assessment at the site's default PV assumptions (cached geometry)."""
    footprints, extents, prepared, note = _prepared(str(maps.out_dir), float(maps.manifest.get("finished", 0)),
                                                    CELL_M, boundaries, min_area_m2)
    return MapView(maps, footprints, prepared, note, extents)


def with_assumptions(view: MapView, assumptions: PVAssumptions) -> MapView:
    """``view`` with the PV figures for ``assumptions`` (the arithmetic only; the geometry is kept)."""
    return replace(view, assessment=view.assessment.with_assumptions(assumptions))


# ---------------------------------------------------------------- rendering


def _imagery_batch(total: int) -> int:
    """Offset of the tiles whose imagery the map shows: a choice when there are more than fit on one map."""
    if total <= MAX_OVERLAYS:
        return 0
    starts = list(range(0, total, MAX_OVERLAYS))
    start = st.selectbox("Imagery for tiles", starts, key="map_imagery_batch",
                         format_func=lambda a: f"{a + 1}–{min(a + MAX_OVERLAYS, total)} of {total}")
    return int(start)


def map_panel(project: Project, view: MapView, buildings=None) -> None:
    """Metric picker, basemap toggle and the interactive map (:func:`app.map_interactive.project_map`):
    ``buildings``, the per-building PV table at the current assumptions, colours the roofs (None: plain
    footprints)."""
    c1, c2 = st.columns([3, 1])
    metric = c1.radio("Colour districts by", PV_FREE_METRICS, format_func=lambda k: METRICS[k][0], horizontal=True,
                      key="map_metric", help="PV capacity is proportional to roof area (same colours); the PV "
                                             "figures are in the table below the map and follow the sliders.")
    basemap = c2.toggle("OpenStreetMap basemap (online)", value=False, key="map_basemap")
    tile_key = _tile_key(project)
    offset = _imagery_batch(len(tile_key))
    overlays, total = _overlays(str(project.root), tile_key, offset)
    data = MapData(map_districts(view.assessment.table), view.assessment.grid, view.footprints, overlays, total,
                   view.maps.manifest.get("label", "buildings"), extents=view.extents, view_key=project.root.name)
    shown = (f"Imagery shown for all {total} tiles." if len(overlays) == total else
             f"Imagery shown for tiles {offset + 1}–{offset + len(overlays)} of {total}: one map carries at most "
             f"{MAX_OVERLAYS} tile images (each adds to the page the browser must draw); pick other tiles above. "
             "The blue outlines mark every imaged tile.")
    every = int(view.maps.manifest.get("footprints", 0))
    counted = f"{len(view.footprints):,} footprints" + (f" ({every - len(view.footprints):,} smaller ones left out)"
                                                       if len(view.footprints) < every else "")
    st.caption(f"Buildings: {data.source_label} · {counted} on {view.maps.manifest.get('tiles', 0)} tiles. {shown} "
               f"Zoom in past level {OUTLINE_ZOOM} and the "
               "districts turn to outlines so the imagery shows; “Zoom to my tiles” (top left) frames your tiles.")
    base = replace(data, footprints=data.footprints.iloc[:0]) if buildings is not None else data  # roofs: PV layer
    project_map(lambda: build_map(base, metric, basemap, layer_control=False),
                _fingerprint(data, metric, basemap, view.maps) + str(buildings is None), buildings,
                view.footprints.index.to_numpy(), view.assessment.table if view.assessment.report is not None
                else None, data.source_label, f"map-{project.root.name}", MAP_HEIGHT)


MAP_HEIGHT = 620  # px


def _fingerprint(data: MapData, metric: str, basemap: bool, maps: ProjectMaps) -> str:
    """What the map's HTML depends on, hashed: the layers folder and its finish time (the footprint
    geometry), the PV-free district table and footprint rows (boundaries, smallest building), the
    imagery shown, the metric and the basemap."""
    digest = hashlib.sha256(repr((str(maps.out_dir), maps.manifest.get("finished"), metric, basemap, data.view_key,
                                  data.source_label, data.tiles_total, [o.tile_id for o in data.overlays],
                                  None if data.extents is None else len(data.extents))).encode())
    for frame in (data.districts, data.footprints, data.grid):
        attributes = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        digest.update(pd.util.hash_pandas_object(attributes, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def map_districts(table):
    """The district table's columns that do not depend on the PV assumptions (the map's data)."""
    return table[[c for c in ("district", "status", "imaged_km2", "building_count", *PV_FREE_METRICS, "geometry")
                  if c in table]]


TABLE_COLUMNS = {"district": "District", "status": "Imagery", "imaged_km2": "Imaged km²",
                 "building_count": "Buildings", "footprint_m2": "Footprint m²", "coverage": "Coverage",
                 "capacity_mwp": "PV MWp", "generation_gwh": "GWh/yr", "co2_t": "CO₂ avoided t/yr",
                 "pv_tilt_deg": "Tilt °", "pv_azimuth_deg": "Azimuth °", "pv_annual_ghi_kwh_m2": "GHI kWh/m²",
                 "pv_emission_factor_t_mwh": "Grid tCO₂/MWh", "pv_basis": "PV assumptions"}


def district_table(view: MapView, project: Project | None = None) -> None:
    """The district table at the current PV assumptions, with what it rests on (imagery per district; for the
    Beijing demo, that its map shows the reference masks)."""
    from pgssl_core.demo.projects import read_demo_marker
    from pgssl_core.project.assessment import imagery_note

    st.subheader("Districts")
    if view.assessment.report is None:
        st.info(f"No district statistics: {view.district_note}")
        return
    if view.district_note:
        st.info(view.district_note, icon=":material/info:")
    marker = read_demo_marker(project.root) if project is not None else None
    demo = (marker or {}).get("kind") == "beijing_demo" and view.maps.manifest.get("source") == "reference"
    note = imagery_note(view.assessment.table, reference_demo=demo)
    if note:
        st.caption(note)
    table = pd.DataFrame(view.assessment.table.drop(columns="geometry"))
    shown = table[[c for c in TABLE_COLUMNS if c in table]].rename(columns=TABLE_COLUMNS)
    number = st.column_config.NumberColumn
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"Coverage": number(format="percent"), "Imaged km²": number(format="%.3f"),
                                "Footprint m²": number(format="localized"), "PV MWp": number(format="%.2f"),
                                "GWh/yr": number(format="%.2f"), "CO₂ avoided t/yr": number(format="localized")})
    if view.assessment.report.buildings_outside:
        st.caption(f"{view.assessment.report.buildings_outside} buildings lie outside every district.")


def downloads(view: MapView, project: Project | None = None) -> None:
    """CSV of districts (current assumptions), GeoPackage of footprints, zip of mask GeoTIFFs."""
    c1, c2, c3 = st.columns(3)
    if view.assessment.report is not None:
        csv = write_district_csv(view.assessment.report, view.maps.out_dir / "districts.csv")
        c1.download_button("Districts (CSV)", csv.read_bytes(), "districts.csv", "text/csv", key="dl_csv")
    c2.download_button("Footprints (GeoPackage)", view.maps.footprints.read_bytes(), "footprints.gpkg",
                       "application/geopackage+sqlite3", key="dl_gpkg")
    masks = view.maps.masks_zip.read_bytes()
    if project is not None:  # each mask named after its uploaded file
        masks = renamed_masks_zip(masks, {r.id: r.original_name for r in project.tiles()})
    c3.download_button("Masks (GeoTIFF, zip)", masks, "masks.zip", "application/zip", key="dl_masks")
