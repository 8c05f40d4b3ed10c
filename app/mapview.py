"""The folium map of a project: imagery, footprints, district choropleth, density heatmap, legends.

Pure folium (no Streamlit), so the benchmark and tests build the same map the page shows.
Offline by default: no basemap (``tiles=None``) and no CDN. folium and streamlit-folium load
Leaflet and plugins from CDNs, which an offline browser cannot reach (the map then stays blank),
so :func:`make_offline` swaps them for data URLs of local copies (Leaflet 1.9.4 from the PyPI
package ``django-js-lib-leaflet``, installed by requirements-app.txt; the heatmap plugin bundled with folium)
and legends are plain HTML controls rather than branca's d3-drawn ones (streamlit-folium adds d3 from a CDN
for those). The OpenStreetMap basemap is optional and needs a connection. ``prefer_canvas`` draws the vectors
on one canvas instead of thousands of SVG nodes, and footprint coordinates are rounded to 1e-6 deg (~0.1 m)
to keep the HTML small.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.util
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import branca.colormap as cm
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from app.map_controls import MapControls
from app.map_overlays import Overlay

#: choropleth metric -> (legend caption, multiplier for display, number format)
#: (the Map page offers only :data:`PV_FREE_METRICS`: the others change with the PV sliders)
METRICS: dict[str, tuple[str, float, str]] = {
    "coverage": ("Building coverage of the imaged area (%)", 100.0, "{:.1f} %"),
    "footprint_m2": ("Roof area of the imaged part (m²)", 1.0, "{:,.0f} m²"),
    "capacity_mwp": ("Rooftop PV capacity of the imaged part (MWp)", 1.0, "{:.2f} MWp"),
    "generation_gwh": ("Annual PV generation of the imaged part (GWh/yr)", 1.0, "{:.2f} GWh/yr"),
}
#: Metrics that do not depend on the PV assumptions: a map coloured by them stays the same when a slider moves.
PV_FREE_METRICS = ("coverage", "footprint_m2")
DISTRICT_LAYER = "Districts"
FOOTPRINT_COLOUR = "#d7301f"
HEAT_GRADIENT = {0.2: "#2c7bb6", 0.45: "#abd9e9", 0.65: "#ffffbf", 0.85: "#fdae61", 1.0: "#d7191c"}
TILE_OUTLINE_COLOUR = "#2166ac"
HEAT_MAX_ZOOM = 16  # Leaflet.heat reaches full intensity at this zoom; beyond it the layer is switched off
DISTRICT_SIMPLIFY_DEG = 0.0005  # ~50 m: invisible at district zoom, a fraction of the vertices


E = TypeVar("E", bound=Element)  # a map, or a feature group shown in one


@dataclass
class MapData:
    """What goes on the map. ``districts``: the district table (WGS84; ``district``, ``status`` and
    metric columns); ``grid``: density cells with ``lon``, ``lat``, ``coverage``; ``footprints``
    (WGS84); ``overlays``: tile images; ``source_label`` names where the buildings come from."""

    districts: gpd.GeoDataFrame
    grid: gpd.GeoDataFrame
    footprints: gpd.GeoDataFrame
    overlays: Sequence[Overlay] = ()
    tiles_total: int = 0
    source_label: str = "buildings"
    extents: gpd.GeoDataFrame | None = None  # imaged tile footprints (any CRS): outlines, "zoom to my tiles"
    view_key: str = "map"  # names the view the browser remembers (one per project)


# Leaflet's own files, shipped unmodified inside the `django-js-lib-leaflet` wheel (no Django needed:
# only its static folder is read, the package is never imported).
LEAFLET_DIR = Path(importlib.util.find_spec("js_lib_leaflet").origin).parent / "static" / "js_lib_leaflet"
HEAT_JS = Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js"


@functools.cache
def _data_url(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _local_assets() -> dict[str, str]:
    """Asset name used by folium -> local data URL."""
    return {"leaflet": _data_url(LEAFLET_DIR / "leaflet.js", "text/javascript"),
            "leaflet_css": _data_url(LEAFLET_DIR / "leaflet.css", "text/css"),
            "leaflet-heat.js": _data_url(HEAT_JS, "text/javascript")}


def _walk(element) -> Iterator:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def make_offline(m: E) -> E:
    """Point every element's JS/CSS at local data URLs; drop the CDN assets this map does not use
    (jQuery, Bootstrap, awesome-markers and their fonts serve markers and popups, which it has none of)."""
    local = _local_assets()
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            if getattr(element, attr, None):
                setattr(element, attr, [(name, local[name]) for name, _url in getattr(element, attr) if name in local])
    return m


class Legend(MacroElement):
    """A colour bar with caption and end values as a Leaflet control (no d3 needed)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "{{ this.position }}"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "legend");
            div.innerHTML = {{ this.html|tojson }};
            div.style.cssText = "background:rgba(255,255,255,0.9);padding:6px 8px;border-radius:4px;" +
                "font:12px sans-serif;" +
                "max-width:260px;white-space:normal;overflow-wrap:anywhere;";
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, colours: cm.LinearColormap, caption: str, position: str = "bottomright",
                 fmt: str = "{:.3g}") -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        stops = ", ".join(colours.rgb_hex_str(colours.vmin + (colours.vmax - colours.vmin) * k / 10) for k in range(11))
        self.html = (f"<div><b>{html.escape(caption)}</b></div>"
                     f"<div style='width:220px;height:12px;background:linear-gradient(to right, {stops});'></div>"
                     f"<div style='display:flex;justify-content:space-between;width:220px'>"
                     f"<span>{fmt.format(colours.vmin)}</span><span>{fmt.format(colours.vmax)}</span></div>")


def _fmt(value: float, metric: str) -> str:
    _caption, factor, pattern = METRICS[metric]
    return pattern.format(value * factor) if value is not None and math.isfinite(value) else "no imagery"


def _district_features(table: gpd.GeoDataFrame, metric: str) -> gpd.GeoDataFrame:
    """District polygons with display strings for the tooltip (the metrics ``table`` has) and the value to
    colour by."""
    out = gpd.GeoDataFrame({"district": table["district"].astype(str), "status": table["status"].astype(str)},
                           geometry=table.geometry.simplify(DISTRICT_SIMPLIFY_DEG), crs=table.crs)
    for name in METRICS:
        if name in table:
            out[f"{name}_text"] = [_fmt(v, name) for v in table[name].to_numpy(dtype=float)]
    if "pv_basis" in table:  # what the PV figures rest on (tilt, azimuth, irradiation and their sources), as in the CSV
        out["pv_basis"] = table["pv_basis"].fillna("").astype(str).to_numpy()
    chosen = table[metric].to_numpy(dtype=float) if metric in table else np.full(len(table), np.nan)
    out["value"] = [float(v) * METRICS[metric][1] if math.isfinite(v) else None for v in chosen]
    return out


def _colormap(values: Sequence[float | None], caption: str) -> cm.LinearColormap:
    finite = [v for v in values if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high <= low:
        high = low + 1e-9
    return cm.LinearColormap(["#ffffcc", "#fd8d3c", "#800026"], vmin=low, vmax=high, caption=caption)


# district tooltip label of each metric (shown for the metrics the table has)
DISTRICT_TOOLTIP = {"coverage": "Building coverage", "footprint_m2": "Roof area (imaged part)",
                    "capacity_mwp": "PV capacity (imaged part)", "generation_gwh": "Annual generation (imaged part)"}


def district_layer(table: gpd.GeoDataFrame, metric: str) -> tuple[folium.GeoJson, cm.LinearColormap]:
    """Choropleth of ``metric`` with a tooltip per district (grey, hatched-free, where no imagery)."""
    features = _district_features(table, metric)
    colours = _colormap(features["value"].tolist(), METRICS[metric][0])

    def style(feature: dict) -> dict:
        value = feature["properties"]["value"]
        fill = colours(value) if value is not None else "#bdbdbd"
        return {"fillColor": fill, "color": "#333333", "weight": 1, "fillOpacity": 0.55 if value is not None else 0.2}

    shown = {"district": "District", "status": "Imagery", **{f"{k}_text": v for k, v in DISTRICT_TOOLTIP.items()},
             "pv_basis": "PV assumptions"}
    fields = [f for f in shown if f in features]
    tooltip = folium.GeoJsonTooltip(fields=fields, aliases=[shown[f] for f in fields], sticky=True)
    layer = folium.GeoJson(features.to_json(), name=f"{DISTRICT_LAYER}: {METRICS[metric][0]}", style_function=style,
                           highlight_function=lambda _f: {"weight": 3, "color": "#000000"}, tooltip=tooltip)
    return layer, colours


# Per-building PV columns shown in a footprint's tooltip when present (app/report_panel.with_building_pv):
# column -> (tooltip label, decimals).
FOOTPRINT_PV_TOOLTIP = {"district": ("District", None), "kwp": ("PV capacity (kWp)", 1),
                        "kwh_yr": ("Generation (kWh/yr)", 0), "co2_t_yr": ("CO₂ avoided (t/yr)", 2)}


def footprint_layer(footprints: gpd.GeoDataFrame, label: str, colours: cm.LinearColormap | None = None,
                    colour_by: str | None = None) -> folium.GeoJson:
    """Building outlines, coordinates rounded to ~0.1 m, the area (and per-building PV, if given) as properties.

    With ``colours`` and ``colour_by`` (a per-building PV column, e.g. ``kwh_yr``) each roof is filled with
    the colour of its value instead of the one footprint colour.
    """
    geoms = shapely.set_precision(footprints.geometry.to_crs(4326).to_numpy(), 1e-6)
    slim = gpd.GeoDataFrame({"area_m2": np.round(footprints["area_m2"].to_numpy(dtype=float), 1)},
                            geometry=geoms, crs=4326)
    pv = [c for c in FOOTPRINT_PV_TOOLTIP if c in footprints]
    for column in pv:
        digits = FOOTPRINT_PV_TOOLTIP[column][1]
        slim[column] = footprints[column].to_numpy() if digits is None else np.round(
            footprints[column].to_numpy(dtype=float), digits)
    slim = slim[~slim.geometry.is_empty]
    tooltip = folium.GeoJsonTooltip(fields=["area_m2", *pv], aliases=[
        "Roof area (m²)", *(FOOTPRINT_PV_TOOLTIP[c][0] for c in pv)]) if pv else None
    by_value = colours is not None and colour_by in slim

    def style(feature: dict) -> dict:
        if colours is not None and by_value:
            fill = colours(min(max(feature["properties"][colour_by], colours.vmin), colours.vmax))
            return {"color": "#222222", "weight": 1, "fillColor": fill, "fillOpacity": 0.8}
        return {"color": FOOTPRINT_COLOUR, "weight": 1, "fillColor": FOOTPRINT_COLOUR, "fillOpacity": 0.5}
    return folium.GeoJson(slim.to_json(), name=f"Building footprints ({label}, {len(slim):,})",
                          style_function=style, tooltip=tooltip)


def density_layer(grid: gpd.GeoDataFrame, cell_label: str) -> folium.plugins.HeatMap:
    """Heatmap of grid-cell centres weighted by building coverage (0..1)."""
    points = grid.loc[grid["coverage"] > 0, ["lat", "lon", "coverage"]].to_numpy(dtype=float).round(6).tolist()
    # Leaflet greys a layer's checkbox out beyond its maxZoom: the name says so, so the grey is explained
    name = f"Building density heatmap ({cell_label} cells; up to zoom {HEAT_MAX_ZOOM})"
    return folium.plugins.HeatMap(points, name=name,
                                  min_opacity=0.3, radius=18, blur=14, max_zoom=HEAT_MAX_ZOOM, gradient=HEAT_GRADIENT,
                                  show=False)


def tile_outline_layer(extents: gpd.GeoDataFrame) -> folium.GeoJson:
    """The imaged tiles as outlines: visible at city zoom, where the imagery itself is a speck."""
    outlines = gpd.GeoDataFrame(geometry=extents.geometry.to_crs(4326).boundary, crs=4326)
    return folium.GeoJson(outlines.to_json(), name=f"Imaged tiles (outlines, {len(outlines):,})",
                          style_function=lambda _f: {"color": TILE_OUTLINE_COLOUR, "weight": 2, "opacity": 0.9})


def imagery_layer(overlays: Sequence[Overlay], total: int) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=f"Tile imagery ({len(overlays)} of {total} tiles)")
    for overlay in overlays:
        # A tile service's credit line goes to Leaflet's attribution control while the imagery is shown
        # (escaped: Leaflet inserts attributions as HTML).
        credit = {"attribution": html.escape(overlay.attribution)} if overlay.attribution else {}
        folium.raster_layers.ImageOverlay(overlay.url, overlay.bounds, name=overlay.name, opacity=1.0,
                                          **credit).add_to(group)
    return group


def build_map(data: MapData, metric: str = "coverage", basemap: bool = False, cell_label: str = "100 m",
              layer_control: bool = True) -> folium.Map:
    """The whole map with a layer control, legends that follow their layers, and the controls of
    :mod:`app.map_controls` (zoom to the tiles, outline-only districts when zoomed in, kept view).

    ``layer_control=False`` leaves the layer control out, for a caller that adds it after layers of its own
    (``st_folium``'s dynamically added feature groups, :mod:`app.map_interactive`).
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    if basemap:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap basemap (online)").add_to(m)
    if data.overlays:
        imagery_layer(data.overlays, data.tiles_total).add_to(m)
    legends: list[tuple[Legend, object]] = []
    districts = None
    if len(data.districts):
        districts, colours = district_layer(data.districts, metric)
        districts.add_to(m)
        legend = Legend(colours, METRICS[metric][0])
        legend.add_to(m)
        legends.append((legend, districts))
    if data.extents is not None and len(data.extents):
        tile_outline_layer(data.extents).add_to(m)
    if len(data.grid):
        heat_layer = density_layer(data.grid, cell_label)
        heat_layer.add_to(m)
        peak = float(data.grid["coverage"].max()) * 100
        heat = cm.LinearColormap(list(HEAT_GRADIENT.values()),
                                 index=[0.0] + [k * peak for k in list(HEAT_GRADIENT)[1:]], vmin=0, vmax=peak)
        legend = Legend(heat, f"Heatmap: building coverage per {cell_label} cell of the imaged part (%)", "bottomleft")
        legend.add_to(m)
        legends.append((legend, heat_layer))
    if len(data.footprints):
        footprint_layer(data.footprints, data.source_label).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=False).add_to(m)
    make_offline(m)
    tile_bounds = _bounds(data.extents) if data.extents is not None and len(data.extents) else None
    focus = tile_bounds or _bounds(data.grid if len(data.grid) else data.districts)
    if focus:
        m.fit_bounds(focus)
    MapControls(tile_bounds, data.view_key, districts, legends).add_to(m)
    return m


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float]] | None:
    """[[south, west], [north, east]] of ``frame`` in degrees, or None when it is empty."""
    if frame is None or not len(frame):
        return None
    west, south, east, north = frame.to_crs(4326).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]
