"""The Map page's interactive map (streamlit-folium): click a district or a roof for its figures, roofs
coloured by PV, a largest-roofs row shown on the map, and a rectangle tool for choosing an area.

Why it stays fast: the base map (imagery, districts, heatmap) is built once per content fingerprint and kept
in the session, so its script, and with it ``st_folium``'s component key, stays the same: the browser keeps
the drawn map (and the user's view). What follows the PV sliders, the roofs coloured by PV and the selected
roof, goes in through ``feature_group_to_add``, which the component swaps in place without redrawing the map.
``returned_objects`` names only the events a page reads (a click, or a drawn rectangle), so panning and
zooming rerun nothing.

``st_folium`` is a custom component that ``streamlit.testing.AppTest`` cannot click: :func:`folium_map`
calls a stand-in put under ``st.session_state[STAND_IN_KEY]`` instead, as :mod:`app.canvas` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from branca.element import Element, MacroElement
from jinja2 import Template

from app.mapview import Legend, footprint_layer, make_offline

STAND_IN_KEY = "_folium_map_stand_in"
CLICK_EVENTS = ("last_object_clicked",)  # the Map page reads clicks only (point lookup: figures follow the sliders)
DRAW_EVENTS = ("last_active_drawing",)
CLICK_TOLERANCE_DEG = 1e-5  # ~1 m: a click on a roof's outline still picks the roof
SELECTED_COLOUR = "#00e5ff"  # the largest-roofs row shown on the map: cyan, apart from the PV palette
PV_PALETTE = ["#440154", "#21918c", "#fde725"]  # viridis ends: dark = little, yellow = much (apart from districts')
#: per-building PV column the roofs can be coloured by -> (legend caption, legend number format)
PV_COLOUR_BY = {"kwh_yr": ("Roof PV generation (kWh/yr)", "{:,.0f}"), "kwp": ("Roof PV capacity (kWp)", "{:,.1f}")}

# (fig=..., key=..., returned_objects=...) -> what st_folium would return
MapFn = Callable[..., "dict | None"]


def folium_map(fig: folium.Map, key: str, returned_objects: Sequence[str], height: int = 620,
               feature_groups: Sequence[folium.FeatureGroup] = (), layer_control: folium.LayerControl | None = None,
               center: tuple[float, float] | None = None, zoom: int | None = None) -> dict:
    """Show ``fig`` with ``st_folium``; returns the events named in ``returned_objects`` (empty dict at first).

    ``feature_groups`` are drawn into the shown map without redrawing it; ``center`` (lat, lon in degrees)
    and ``zoom`` move the view when they change. ``fig`` and ``feature_groups`` are left as they were given
    (:func:`_pristine`), so a kept map gives the same script, hence the same component, on every rerun.
    """
    stand_in: MapFn | None = st.session_state.get(STAND_IN_KEY)
    if stand_in is not None:
        return stand_in(fig=fig, key=key, returned_objects=list(returned_objects), feature_groups=list(feature_groups),
                        center=center, zoom=zoom) or {}
    from streamlit_folium import st_folium  # type: ignore[import-untyped]  # imported here: its module registers a component

    with _pristine([fig.get_root(), *feature_groups]):
        return st_folium(fig, key=key, height=height, use_container_width=True, returned_objects=list(returned_objects),
                         feature_group_to_add=list(feature_groups) or None, layer_control=layer_control,
                         center=center, zoom=zoom) or {}


@contextmanager
def _pristine(roots: Sequence[Element]) -> Iterator[None]:
    """Undo, on leaving, what st_folium does to the element trees under ``roots`` while rendering them.

    It renames every element (``_id``, to number them in its script) and rendering adds children (a folium
    layer adds its own "add to parent" element, named after its ``_id``; st_folium adds the feature groups and
    the layer control to the map). Left in place, the second rerun's script differs from the first (each layer
    added twice), so does st_folium's component key, a hash of that script: the browser drops the drawn map
    and, with it, the click that caused the rerun. Restored, every rerun gives the first script.
    """
    saved: list[tuple[Element, str, Element | None, list[str]]] = []
    stack = list(roots)
    while stack:
        element = stack.pop()
        saved.append((element, element._id, element._parent, list(element._children)))
        stack.extend(element._children.values())
    try:
        yield
    finally:
        for element, id_, parent, names in saved:
            element._id, element._parent = id_, parent
            for name in set(element._children) - set(names):
                del element._children[name]


def clicked_point(result: dict | None) -> tuple[float, float] | None:
    """(lat, lon) in degrees of the last clicked district or roof in ``st_folium``'s result, or None."""
    point = (result or {}).get("last_object_clicked")
    if not point or point.get("lat") is None or point.get("lng") is None:
        return None
    return float(point["lat"]), float(point["lng"])


# ---------------------------------------------------------------- click -> figures (no Streamlit)


@dataclass(frozen=True)
class Picked:
    """What a click landed on: ``kind`` "building" or "district", its ``name`` and (label, value) rows."""

    kind: str
    name: str
    rows: tuple[tuple[str, str], ...]


def _ranged(row, column: str, factor: float, fmt: str, unit: str) -> str:
    value = float(row[column]) * factor
    if not math.isfinite(value):
        return "no imagery"
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    text = f"{fmt.format(value)} {unit}"
    if low is not None and high is not None and math.isfinite(float(low)) and math.isfinite(float(high)):
        text += f" ({fmt.format(float(low) * factor)}–{fmt.format(float(high) * factor)})"
    return text


def _hits(frame: gpd.GeoDataFrame, lat: float, lon: float) -> np.ndarray:
    """Positions of the rows of ``frame`` (any CRS) within :data:`CLICK_TOLERANCE_DEG` of the point."""
    probe = gpd.GeoSeries([shapely.Point(lon, lat).buffer(CLICK_TOLERANCE_DEG)], crs=4326)
    if frame.crs is not None:
        probe = probe.to_crs(frame.crs)
    return np.asarray(frame.sindex.query(probe.iloc[0], predicate="intersects"), dtype=int)


def pick_at(lat: float, lon: float, buildings: gpd.GeoDataFrame | None,
            districts: gpd.GeoDataFrame | None) -> Picked | None:
    """The roof, else the district, at (``lat``, ``lon``) (degrees, WGS84) with its figures; None when neither.

    ``buildings``: per-building table (``pgssl_core.assess.buildings_pv``: ``building_id``, ``roof_area_m2``,
    ``kwp``, ``kwh_yr``, ``co2_t_yr``, each PV column with ``_low``/``_high``; any CRS); ``districts``: the
    district table (``district``, ``footprint_m2``, ``capacity_mwp``, ``generation_gwh``, ``co2_t`` with
    ranges; any CRS). Where roofs overlap at the point, the smallest is taken (the one drawn on top to the eye).
    Ranges hold the PV assumptions, as the tables do.
    """
    if buildings is not None and len(buildings):
        hits = _hits(buildings, lat, lon)
        if len(hits):
            row = buildings.iloc[hits[np.argmin(buildings["roof_area_m2"].to_numpy(dtype=float)[hits])]]
            rows = [("Roof area", f"{float(row['roof_area_m2']):,.1f} m²")]
            if "kwp" in row:
                rows += [("PV capacity", _ranged(row, "kwp", 1.0, "{:,.1f}", "kWp")),
                         ("Generation", _ranged(row, "kwh_yr", 1.0, "{:,.0f}", "kWh/yr")),
                         ("CO₂ avoided", _ranged(row, "co2_t_yr", 1.0, "{:,.2f}", "t/yr"))]
            where = f" in {row['district']}" if str(row.get("district") or "") else ""
            return Picked("building", f"Building {int(row['building_id'])}{where}", tuple(rows))
    if districts is not None and len(districts):
        hits = _hits(districts, lat, lon)
        if len(hits):
            row = districts.iloc[hits[0]]
            rows = [("Roof area (imaged part)", _ranged(row, "footprint_m2", 1.0, "{:,.0f}", "m²"))]
            if "capacity_mwp" in row:
                rows += [("PV capacity", _ranged(row, "capacity_mwp", 1e3, "{:,.0f}", "kWp")),
                         ("Generation", _ranged(row, "generation_gwh", 1e6, "{:,.0f}", "kWh/yr")),
                         ("CO₂ avoided", _ranged(row, "co2_t", 1.0, "{:,.1f}", "t/yr"))]
            return Picked("district", f"District {row['district']}", tuple(rows))
    return None


# ---------------------------------------------------------------- layers that follow the sliders


def pv_colours(values: np.ndarray, column: str) -> cm.LinearColormap:
    """Colour scale of a per-building PV column over the 5th-95th percentile of ``values`` (a few very
    large roofs would otherwise leave every other roof the lowest colour)."""
    finite = values[np.isfinite(values)]
    low, high = (float(np.percentile(finite, 5)), float(np.percentile(finite, 95))) if len(finite) else (0.0, 1.0)
    return cm.LinearColormap(PV_PALETTE, vmin=low, vmax=max(high, low + 1e-9), caption=PV_COLOUR_BY[column][0])


def pv_roof_group(buildings: gpd.GeoDataFrame, column: str, label: str) -> tuple[folium.FeatureGroup, str]:
    """Roofs filled by ``column`` (``kwh_yr`` or ``kwp``) with PV tooltips, as a feature group, and the legend's
    HTML. ``buildings``: the per-building table of the roofs shown (area in ``roof_area_m2``)."""
    frame = buildings.rename(columns={"roof_area_m2": "area_m2"})
    colours = pv_colours(frame[column].to_numpy(dtype=float), column)
    group = folium.FeatureGroup(name=f"Roofs by PV ({label}, {len(frame):,})")
    footprint_layer(frame, label, colours, column).add_to(group)
    legend = Legend(colours, PV_COLOUR_BY[column][0] + " (5th–95th percentile)", fmt=PV_COLOUR_BY[column][1])
    return make_offline(group), legend.html


def selected_roof_group(buildings: gpd.GeoDataFrame, building_id: int) -> tuple[folium.FeatureGroup,
                                                                                  tuple[float, float]] | None:
    """The roof ``building_id`` outlined in :data:`SELECTED_COLOUR` and (lat, lon) to centre on; None if absent."""
    found = buildings[buildings["building_id"] == building_id]
    if not len(found):
        return None
    shape = found.geometry.to_crs(4326)
    point = shape.representative_point().iloc[0]
    group = folium.FeatureGroup(name=f"Selected roof (building {building_id})")
    folium.GeoJson(gpd.GeoDataFrame(geometry=shape.to_numpy(), crs=4326).to_json(),
                   style_function=lambda _f: {"color": SELECTED_COLOUR, "weight": 4, "fillOpacity": 0.0}).add_to(group)
    return make_offline(group), (float(point.y), float(point.x))


# ---------------------------------------------------------------- rectangle tool (no Leaflet.draw needed)


class RectangleTool(MacroElement):
    """A "Draw area" button: press it, drag a rectangle, and the map fires ``draw:created`` with it, the event
    streamlit-folium reports as ``last_active_drawing`` (a GeoJSON Polygon feature, lon/lat degrees).

    Leaflet.draw (folium's Draw plugin) comes from a CDN, which an offline map cannot reach; this is the one
    shape the app needs, in a few lines of plain Leaflet.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var drawn = null, start = null, box = null, armed = false;
            var control = L.control({position: "topleft"});
            control.onAdd = function () {
                var button = L.DomUtil.create("a", "leaflet-bar pgssl-draw-area");
                button.href = "#";
                button.title = {{ this.label_json }};
                button.textContent = {{ this.label_json }};
                button.style.cssText = "display:block;background:#fff;padding:4px 8px;font:13px sans-serif;" +
                    "color:#222;text-decoration:none;border-radius:4px;cursor:pointer;";
                L.DomEvent.on(button, "click", function (e) {
                    L.DomEvent.stop(e);
                    armed = true;
                    map.dragging.disable();
                    map.getContainer().style.cursor = "crosshair";
                });
                return button;
            };
            control.addTo(map);
            map.on("mousedown", function (e) {
                if (!armed) { return; }
                start = e.latlng;
                if (box) { map.removeLayer(box); }
                // dashed, unfilled: what was drawn; the area the page takes is drawn solid from its fields
                box = L.rectangle([start, start], {color: "#ff7800", weight: 2, dashArray: "6 4", fill: false})
                    .addTo(map);
            });
            map.on("mousemove", function (e) {
                if (armed && start && box) { box.setBounds([start, e.latlng]); }
            });
            map.on("mouseup", function (e) {
                if (!armed || !start) { return; }
                armed = false;
                start = null;
                map.dragging.enable();
                map.getContainer().style.cursor = "";
                if (drawn) { map.removeLayer(drawn); }
                drawn = box;
                box = null;
                map.fire("draw:created", {layer: drawn, layerType: "rectangle"});
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, label: str = "Draw area") -> None:
        super().__init__()
        self._name = "RectangleTool"
        import json

        self.label_json = json.dumps(label)


def drawn_bbox(result: dict | None) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) in degrees of the rectangle in ``st_folium``'s ``last_active_drawing``;
    None when nothing was drawn or the drawing has no area (a click without a drag)."""
    drawing = (result or {}).get("last_active_drawing")
    try:
        west, south, east, north = shapely.geometry.shape(drawing["geometry"]).bounds
    except (TypeError, KeyError, ValueError, AttributeError):
        return None
    if not (east > west and north > south):
        return None
    return float(west), float(south), float(east), float(north)


# ---------------------------------------------------------------- choose an area: a drawn rectangle fills four fields

AREA_FIELDS = ("West", "South", "East", "North")  # degrees, WGS84; the fields' keys are f"{key}_{field}"
AREA_COLOUR = "#ff7800"  # the rectangle tool's colour: the area the fields hold, drawn or typed
AREA_MAP_HEIGHT = 420  # px


def area_group(bbox: Sequence[float]) -> folium.FeatureGroup | None:
    """The area (west, south, east, north; degrees) outlined on the map; None when it has no extent."""
    west, south, east, north = bbox
    if not (west < east and south < north):
        return None
    group = folium.FeatureGroup(name="Chosen area")
    folium.Rectangle([[south, west], [north, east]], color=AREA_COLOUR, weight=2, fill=False).add_to(group)
    return make_offline(group)


def area_picker(key: str, make_map: Callable[[], folium.Map], fingerprint: object, default: Sequence[float],
                marks: Callable[[tuple[float, ...]], Sequence[folium.FeatureGroup]] = lambda _bbox: (),
                height: int = AREA_MAP_HEIGHT) -> tuple[float, float, float, float]:
    """A map with the "Draw area" tool above four number fields (West, South, East, North in degrees):
    a rectangle drawn on the map fills the fields, which the user can still edit. Returns the fields' values.

    ``make_map()`` builds the map (without the tool, which is added here); it is kept in the session while
    ``fingerprint`` stays the same, so typing in the fields does not redraw it. ``default``: the fields'
    first values. ``marks(bbox)`` gives layers that follow the fields (e.g. the tiles inside), drawn with the
    area's outline into the shown map without redrawing it. Only the drawing event reruns the page.
    """
    keys = [f"{key}_{name}" for name in AREA_FIELDS]
    kept = f"_area_values_{key}"  # Streamlit drops a widget's state in a run that does not draw it: kept here
    for name, value in zip(keys, st.session_state.get(kept, default)):
        # assigned, not just defaulted: a value only defaulted on the server is not sent to the browser, which
        # would show the field's minimum after a run that left the fields out (a prediction running)
        st.session_state[name] = float(st.session_state.get(name, value))
    current = tuple(float(st.session_state[name]) for name in keys)

    def with_tool() -> folium.Map:
        m = make_map()
        RectangleTool().add_to(m)
        return m

    shown = area_group(current)
    groups = [*([shown] if shown is not None else []), *marks(current)]
    st.caption("Press “Draw area” (top left of the map) and drag a rectangle: it fills West, South, East and "
               "North below, which you can still edit. The solid orange outline is the area those fields hold.")
    drawn = drawn_bbox(folium_map(_kept(f"_area_map_{key}", fingerprint, with_tool), f"{key}_map", DRAW_EVENTS,
                                  height, groups))
    seen = f"_area_drawn_{key}"
    if drawn is not None and st.session_state.get(seen) != drawn:  # a new drawing: into the fields, once
        st.session_state[seen] = drawn
        for name, value in zip(keys, drawn):
            st.session_state[name] = round(value, 6)  # ~0.1 m: finer than a pointer can draw
        st.rerun()  # the fields, the outline and what follows them show the drawing
    cols = st.columns(len(AREA_FIELDS))
    values = [col.number_input(f"{name} (°)", format="%.5f", key=field, min_value=-180.0 if i % 2 == 0 else -90.0,
                               max_value=180.0 if i % 2 == 0 else 90.0)
              for i, (col, name, field) in enumerate(zip(cols, AREA_FIELDS, keys))]
    west, south, east, north = (float(v) for v in values)
    st.session_state[kept] = (west, south, east, north)
    return west, south, east, north


# ---------------------------------------------------------------- the Map page's map

ROOFS_KEY = "largest_roofs"  # the "Largest roofs" table's selection (app.report_panel)
LARGEST_ROOFS_N = 50
_BASE_KEY = "_map_interactive_base"  # (fingerprint, folium.Map): one kept base map per session
_ROOFS_KEY = "_map_interactive_roofs"  # (key, (group, legend html)): the PV roofs of the current assumptions
SELECTED_ZOOM = 19


T = TypeVar("T")


def _kept(slot: str, key: object, make: Callable[[], T]) -> T:
    """``make()`` kept in this session under ``slot`` while ``key`` stays the same (one entry: the map object
    is mutated while st_folium renders it, so it is not shared between sessions as a cache resource would be)."""
    kept = st.session_state.get(slot)
    if kept is None or kept[0] != key:
        kept = (key, make())
        st.session_state[slot] = kept
    return kept[1]


def selected_roof(buildings: gpd.GeoDataFrame | None) -> int | None:
    """``building_id`` of the row selected in the "Largest roofs" table (read before the table is drawn,
    from its widget state), or None."""
    state: Any = st.session_state.get(ROOFS_KEY)
    try:
        rows = list(state["selection"]["rows"])  # st.dataframe's on_select state (dict-like)
    except (KeyError, TypeError):
        rows = []
    if buildings is None or not rows:
        return None
    from pgssl_core.assess.buildings_pv import largest_roofs

    top = largest_roofs(buildings, LARGEST_ROOFS_N)
    return int(top["building_id"].iloc[rows[0]]) if rows[0] < len(top) else None


def project_map(base: Callable[[], folium.Map], fingerprint: str, buildings: gpd.GeoDataFrame | None,
                shown_rows: np.ndarray | None, districts: gpd.GeoDataFrame | None, label: str, key: str,
                height: int) -> Picked | None:
    """The Map page's map: the kept base map (``base()`` builds it, without footprints when ``buildings`` is
    given, and without a layer control), the roofs coloured by PV, the selected largest roof, and under it
    the legend and the figures of the clicked roof or district. Returns what was clicked.

    ``buildings``: the per-building PV table at the current assumptions (all roofs of the layers, ``None``
    when there is no district table); ``shown_rows``: the positions of the roofs on the map (the smallest
    building slider leaves some out); ``districts``: the district table at the current assumptions.
    """
    m = _kept(_BASE_KEY, fingerprint, base)
    groups: list[folium.FeatureGroup] = []
    legend = None
    center = zoom = None
    if buildings is not None and len(buildings):
        column = st.radio("Colour roofs by", list(PV_COLOUR_BY), format_func=lambda c: PV_COLOUR_BY[c][0],
                          horizontal=True, key="map_roof_colour")
        shown = buildings.iloc[shown_rows] if shown_rows is not None else buildings
        roofs_key = (fingerprint, column,
                     pd.util.hash_pandas_object(pd.DataFrame(shown[[column, "kwp", "co2_t_yr"]])).sum())
        group, legend = _kept(_ROOFS_KEY, roofs_key, lambda: pv_roof_group(shown, column, label))
        groups.append(group)
        chosen = selected_roof(buildings)
        found = selected_roof_group(buildings, chosen) if chosen is not None else None
        if found is not None:
            groups.append(found[0])
            center, zoom = found[1], SELECTED_ZOOM
            st.caption(f"Building {chosen} (selected in “Largest roofs”) is outlined in cyan at the map's centre.")
    result = folium_map(m, key, CLICK_EVENTS, height, groups, folium.LayerControl(collapsed=False), center, zoom)
    if legend:
        st.html(legend)
    point = clicked_point(result)
    picked = pick_at(*point, buildings, districts) if point else None
    with st.container(border=True, key="map_picked"):
        if picked is None:
            st.caption("Click a district or a roof on the map for its figures (they follow the PV sliders).")
        else:
            st.markdown(f"**{picked.name}**")
            st.markdown("\n".join(f"- {label_}: **{value}**" for label_, value in picked.rows))
            st.caption("Ranges in brackets: the PV assumptions' low and high values.")
    return picked
