"""The Map page's "Predict part of the project": a rectangle drawn on a map of the tiles picks the
tiles to predict; the tiles inside are outlined as the area changes, and only they are predicted
(``pgssl_core.project.predict_area`` picks them, ``predict_project(..., tile_ids=...)`` predicts them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import folium
import geopandas as gpd
import streamlit as st

from app.map_interactive import AREA_COLOUR, area_picker
from app.map_overlays import Overlay
from app.mapview import TILE_OUTLINE_COLOUR, imagery_layer, make_offline
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.project.predict import mapped_tiles
from pgssl_core.project.predict_area import tile_outlines, tiles_bbox, tiles_in_bbox

PART_KEY = "predict_part"  # the toggle; the area's fields are f"{AREA_KEY}_West" ...
_PART_KEPT = "_predict_part_on"  # the toggle's state while a prediction runs (the page then draws no toggle)
AREA_KEY = "predict_area"


def _outlines(outlines: dict, names: dict[str, str], ids: Sequence[str], colour: str, weight: int,
              layer: str) -> folium.GeoJson:
    """The tiles ``ids`` outlined in ``colour`` with their file names as tooltips."""
    frame = gpd.GeoDataFrame({"tile": [names[i] for i in ids]}, geometry=[outlines[i] for i in ids], crs=4326)
    return folium.GeoJson(frame.to_json(), name=layer, tooltip=folium.GeoJsonTooltip(["tile"], labels=False),
                          style_function=lambda _f: {"color": colour, "weight": weight, "fill": False})


def drawn_part(project: Project, overlays: Callable[[], tuple[list[Overlay], int]]) -> list[str] | None:
    """A toggle, "Only the tiles in an area I draw"; when on, the area picker over the project's tiles
    (imagery from ``overlays()``, the Map page's cached tile images, and every tile outlined in blue, those in
    the area in orange) and how many tiles the area holds. Returns the ids of the tiles in the area (empty
    when it holds none or is not a valid area), or None when the whole project is to be predicted."""
    # assigned each run so the browser is told too (see app.map_interactive.area_picker)
    st.session_state[PART_KEY] = bool(st.session_state.get(PART_KEY, st.session_state.get(_PART_KEPT, False)))
    st.session_state[_PART_KEPT] = st.toggle("Only the tiles in an area I draw", key=PART_KEY, help="Draw a "
                                             "rectangle on a map of your tiles; only the tiles it meets are predicted.")
    if not st.session_state[_PART_KEPT]:
        return None
    records = mapped_tiles(project)
    outlines = tile_outlines(records)
    names = {r.id: r.original_name for r in records}
    start = tiles_bbox(records)
    if start is None:
        st.caption("No georeferenced tile: nothing can be placed on a map.")
        return []

    def make_map() -> folium.Map:
        m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
        images, total = overlays()
        if images:
            imagery_layer(images, total).add_to(m)
        _outlines(outlines, names, list(outlines), TILE_OUTLINE_COLOUR, 1, "Your tiles").add_to(m)
        make_offline(m)
        west, south, east, north = start
        m.fit_bounds([[south, west], [north, east]])
        return m

    def inside(bbox: Sequence[float]) -> list[str]:
        try:
            return [r.id for r in tiles_in_bbox(project, bbox)]
        except PgsslError:
            return []

    def marks(bbox: Sequence[float]) -> list[folium.FeatureGroup]:
        ids = inside(bbox)
        if not ids:
            return []
        group = folium.FeatureGroup(name=f"Tiles in the area ({len(ids)})")
        _outlines(outlines, names, ids, AREA_COLOUR, 3, "Tiles in the area").add_to(group)
        return [make_offline(group)]

    bbox = area_picker(AREA_KEY, make_map, ("tiles", project.root.name, tuple(sorted(outlines))), start, marks)
    try:
        ids = [r.id for r in tiles_in_bbox(project, bbox)]
    except PgsslError as exc:
        st.error(str(exc))
        return []
    st.caption(f"{len(ids):,} of {len(records):,} tiles in this area (outlined in orange)." if ids else
               "No tile in this area: draw it over your tiles (outlined in blue).")
    return ids
