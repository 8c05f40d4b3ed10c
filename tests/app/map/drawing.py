"""A stand-in for the browser's map that draws a rectangle (shared by the tile-service and Map page AppTests)."""

from __future__ import annotations


class Draws:
    """Stands in for ``st_folium`` (``app.map_interactive.STAND_IN_KEY``): a rectangle drawn with the "Draw area"
    tool, as streamlit-folium returns it (``last_active_drawing``: a GeoJSON Polygon feature, lon/lat degrees).
    ``asked`` keeps the ``returned_objects`` of each call."""

    def __init__(self, west: float, south: float, east: float, north: float) -> None:
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        self.drawing = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        self.asked: list[list[str]] = []

    def __call__(self, **kwargs) -> dict:
        self.asked.append(kwargs["returned_objects"])
        return {"last_active_drawing": self.drawing}
