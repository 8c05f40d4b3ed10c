"""The "Import from a tile service" panel of the "Project & upload" page (``import-xyz`` in the app).

The user names the service (URL template) and its attribution; the area is a district of the project's
boundaries or a bounding box, typed or drawn as a rectangle on a map of the service's own imagery
(:func:`app.map_interactive.area_picker`). The tile count is shown before anything is fetched, and above the cap a
confirmation box must be ticked before the download button works. The work is ``pgssl_core.xyz``'s.
"""

from __future__ import annotations

import html

import folium
import streamlit as st

from app import session
from app.map_interactive import AREA_FIELDS, area_picker
from app.mapview import make_offline
from pgssl_core.assess.boundaries import load_boundaries
from pgssl_core.assess.project_boundaries import districts_for, find_district, project_boundaries
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.project.predict_area import tiles_bbox
from pgssl_core.xyz.fetch import TileFetcher, check_template, public_service_name
from pgssl_core.xyz.grid import TilePlan, area_tiles, bbox_tiles
from pgssl_core.xyz.importer import DEFAULT_MAX_TILES, import_xyz, present_tiles

MAX_ZOOM = 22  # deepest zoom tile services commonly serve
DEFAULT_AREA = (116.39, 39.905, 116.393, 39.9065)  # west, south, east, north (deg): a few blocks of central Beijing


@st.cache_data(show_spinner=False, max_entries=8)
def _district_names(key: tuple[str, str], _project: Project) -> list[str]:
    return sorted(load_boundaries(districts_for(project_boundaries(_project)))["district"].astype(str))


def _service_map(url: str, attribution: str, area: tuple[float, ...]) -> folium.Map:
    """A map of the named service's imagery (none before a URL is given) framed on ``area`` (W, S, E, N deg)."""
    m = folium.Map(tiles=None, control_scale=True, max_zoom=MAX_ZOOM)
    if url:  # Leaflet inserts attributions as HTML: escaped
        folium.TileLayer(url, attr=html.escape(attribution) or "the tile service", name="Tile service",
                         max_zoom=MAX_ZOOM, max_native_zoom=MAX_ZOOM).add_to(m)
    make_offline(m)
    west, south, east, north = area
    m.fit_bounds([[south, west], [north, east]])
    return m


def _plan(project: Project, url: str, attribution: str) -> TilePlan | None:
    zoom = int(st.number_input("Zoom", min_value=0, max_value=MAX_ZOOM, value=18, key="xyz_zoom",
                               help="18 is about 0.45 m per pixel in Beijing, 19 about 0.23 m"))
    by_district = st.radio("Area", ["District", "Bounding box"], horizontal=True, key="xyz_area") == "District"
    if by_district:
        choice = project_boundaries(project)
        name = st.selectbox(f"District ({choice.label})", _district_names(choice.key, project), key="xyz_district")
        if name is None:
            return None
        found, area = find_district(choice, name)
        return area_tiles(found, area, zoom)
    if not url:
        st.caption("Name the tile service above and its imagery shows on this map.")
    default = _starting_area(project)
    start = tuple(float(st.session_state.get(f"xyz_{n}", v)) for n, v in zip(AREA_FIELDS, default))
    # the map is redrawn (and framed on the fields) only when the service changes, not when a field is typed
    return bbox_tiles(*area_picker("xyz", lambda: _service_map(url, attribution, start), (url, attribution),
                                   default), zoom)


def _starting_area(project: Project) -> tuple[float, float, float, float]:
    """Where the area starts: at the project's georeferenced tiles (a user in São Paulo should not have to pan from
    Beijing), else :data:`DEFAULT_AREA`. Tiles that span more than ``DEFAULT_AREA`` give an area of its size
    around the first tile: a whole city's extent would start with a download far above the cap."""
    records = project.tiles()
    return _tiles_area(str(project.root), len(records), records[-1].id if records else "", project) or DEFAULT_AREA


@st.cache_data(show_spinner=False, max_entries=8)
def _tiles_area(root: str, count: int, last: str, _project: Project) -> tuple[float, float, float, float] | None:
    # keyed by the project (root) and its tile set (count, newest id), which are the cache key and otherwise
    # unused: the outlines are not recomputed on every rerun
    del root, count, last
    records = _project.tiles()
    around = tiles_bbox(records)
    if around is None:
        return None
    west, south, east, north = DEFAULT_AREA
    half_w, half_h = (east - west) / 2, (north - south) / 2
    if around[2] - around[0] <= 2 * half_w and around[3] - around[1] <= 2 * half_h:
        return around
    first = next(box for box in (tiles_bbox([r]) for r in records) if box is not None)
    cx, cy = (first[0] + first[2]) / 2, (first[1] + first[3]) / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def tile_service_form(project: Project) -> None:
    """An expander: service, attribution, area, tile count, confirmation, download with a progress bar."""
    with st.expander("Import from a tile service", icon=":material/public:"):
        st.caption("Tiles of an XYZ service you name become project tiles (EPSG:3857, their z/x/y address kept). "
                   "Use a service whose terms allow it; requests are rate limited, retried with backoff and "
                   "cached on disk. The attribution is kept in the project and shown on the map.")
        url = st.text_input("Tile URL template", placeholder="https://tiles.example.org/{z}/{x}/{y}.png",
                            key="xyz_url").strip()
        attribution = st.text_input("Attribution (as the service's terms ask)", key="xyz_attribution").strip()
        try:
            if url:
                check_template(url)
            plan = _plan(project, url, attribution)
        except PgsslError as exc:
            st.error(str(exc))
            return
        if plan is None:
            return
        have = len(present_tiles(project, public_service_name(url)) & set(plan.tiles)) if url else 0
        count = len(plan.tiles) - have
        st.write(f"**{plan.area}**: {len(plan.tiles):,} tiles, {have:,} already in the project.")
        confirmed = count <= DEFAULT_MAX_TILES or st.checkbox(
            f"Yes, download {count:,} tiles (more than {DEFAULT_MAX_TILES:,}; this takes the service's time)",
            key="xyz_confirm")
        ready = bool(url and attribution and confirmed and count)
        if st.button(f"Download {count:,} tiles", type="primary", disabled=not ready, key="xyz_go"):
            bar = st.progress(0.0, text="Downloading tiles…")

            def progress(done: int, total: int, what: str) -> None:
                bar.progress(done / max(total, 1), text=f"{done:,}/{total:,} tiles ({what})")

            try:
                with TileFetcher(url) as fetcher:
                    result = import_xyz(project, plan, fetcher, attribution, progress=progress)
            except PgsslError as exc:
                bar.empty()
                st.error(f"{exc} Nothing was added to the project.")
                return
            session.set_notice("success", result.line())
            st.rerun()
