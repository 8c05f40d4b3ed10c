"""Map behaviour that folium does not offer, as one small Leaflet script (pure folium, no Streamlit).

- a "Zoom to my tiles" button (and the map opens on the tiles when it has no remembered view);
- districts drawn as outlines only from :data:`OUTLINE_ZOOM` on, so imagery and footprints stay
  readable under them when zoomed in;
- each legend shown only while its layer is on;
- the view (centre and zoom) kept in the browser's ``localStorage`` per project and restored when the
  map is drawn again (a slider or option change redraws it), so nothing resets the user's view.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

# From this zoom on (about 1:17,000; a city block fills the view) district fills would hide the imagery.
OUTLINE_ZOOM = 15


class MapControls(MacroElement):
    """Zoom-to-tiles button, district outlines at high zoom, legends bound to layers, kept view.

    ``tile_bounds``: [[south, west], [north, east]] in degrees of the imaged tiles (None: no button);
    ``view_key``: names the remembered view (e.g. the project folder); ``districts``: the district
    layer or None; ``legends``: (legend control, layer) pairs. Add it after every layer and legend.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var tileBounds = {{ this.tile_bounds_json }};
            var viewKey = "pgssl-map-view:" + {{ this.view_key_json }};
            if (tileBounds) {
                var zoomControl = L.control({position: "topleft"});
                zoomControl.onAdd = function () {
                    var button = L.DomUtil.create("a", "leaflet-bar pgssl-zoom-tiles");
                    button.href = "#";
                    button.title = "Zoom to my tiles";
                    button.textContent = "Zoom to my tiles";
                    button.style.cssText = "display:block;background:#fff;padding:4px 8px;font:13px sans-serif;" +
                        "color:#222;text-decoration:none;border-radius:4px;cursor:pointer;";
                    L.DomEvent.on(button, "click", function (e) {
                        L.DomEvent.stop(e);
                        map.fitBounds(tileBounds, {maxZoom: 18});
                    });
                    return button;
                };
                zoomControl.addTo(map);
            }
            {% if this.districts %}
            var districts = {{ this.districts.get_name() }};
            var outline = function () {
                var zoomedIn = map.getZoom() >= {{ this.outline_zoom }};
                districts.eachLayer(function (layer) {
                    if (layer.options.pgsslFill === undefined) { layer.options.pgsslFill = layer.options.fillOpacity; }
                    layer.setStyle({fillOpacity: zoomedIn ? 0 : layer.options.pgsslFill});
                });
            };
            map.on("zoomend", outline);
            districts.on("mouseout", function () { setTimeout(outline, 0); });  // the highlight resets the style
            {% endif %}
            {% for legend, layer in this.legends %}
            (function () {
                var legend = {{ legend.get_name() }}, layer = {{ layer.get_name() }};
                var sync = function () {
                    var box = legend.getContainer();
                    if (box) { box.style.display = map.hasLayer(layer) ? "" : "none"; }
                };
                map.on("overlayadd overlayremove", sync);
                sync();
            })();
            {% endfor %}
            try {
                var saved = JSON.parse(window.localStorage.getItem(viewKey) || "null");
                if (saved && isFinite(saved.lat) && isFinite(saved.lng) && isFinite(saved.zoom)) {
                    map.setView([saved.lat, saved.lng], saved.zoom, {animate: false});
                } else if (tileBounds) {
                    map.fitBounds(tileBounds, {maxZoom: 18});
                }
            } catch (err) { /* storage blocked: the map keeps its fitted view */ }
            map.on("moveend", function () {
                try {
                    var c = map.getCenter();
                    window.localStorage.setItem(viewKey, JSON.stringify({lat: c.lat, lng: c.lng, zoom: map.getZoom()}));
                } catch (err) { /* storage blocked: nothing to keep */ }
            });
            {% if this.districts %}outline();{% endif %}
        })();
        {% endmacro %}
    """)

    def __init__(self, tile_bounds: Sequence[Sequence[float]] | None, view_key: str,
                 districts: folium.GeoJson | None = None, legends: Sequence[tuple[MacroElement, object]] = (),
                 outline_zoom: int = OUTLINE_ZOOM) -> None:
        super().__init__()
        self._name = "MapControls"
        self.tile_bounds_json = json.dumps([[float(v) for v in corner] for corner in tile_bounds]) if tile_bounds \
            else "null"
        self.view_key_json = json.dumps(view_key)
        self.districts = districts
        self.legends = list(legends)
        self.outline_zoom = int(outline_zoom)
