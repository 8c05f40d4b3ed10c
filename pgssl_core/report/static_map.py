"""A static map image for the report: districts by PV capacity, the density grid and the footprints.

Drawn with matplotlib's non-interactive Agg backend (no display, no network, no basemap tiles), in
WGS84 degrees with the aspect set for the latitude, so it opens offline anywhere as a PNG.
Two panels: the whole district layer (where the imagery is), and a zoom on the imaged area.
"""

from __future__ import annotations

import io
import math

import geopandas as gpd
import numpy as np

FOOTPRINT_COLOUR = "#d7301f"  # as on the app's map (app/mapview.py)
ZOOM_HALF_M = 250.0  # half side of the zoom panel's window, m


def _aspect(gdf: gpd.GeoDataFrame) -> float:
    """1 / cos(latitude): degrees of longitude and latitude drawn at the same ground scale."""
    if gdf.empty:
        return 1.0
    _w, south, _e, north = gdf.total_bounds
    return 1.0 / max(math.cos(math.radians((south + north) / 2)), 0.1)


def map_png(districts: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame,
            dpi: int = 110) -> bytes:
    """PNG bytes of the two-panel map. ``districts`` may be empty (no district table); ``grid``: density
    cells with ``coverage`` 0..1; ``footprints``: building polygons. Any CRS (drawn in WGS84)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, thread-safe enough

    d = districts.to_crs(4326) if len(districts) else districts
    g = grid.to_crs(4326) if len(grid) else grid
    f = footprints.to_crs(4326) if len(footprints) else footprints
    fig = Figure(figsize=(12, 6), dpi=dpi, layout="constrained")
    overview, zoom = fig.subplots(1, 2)
    overview_title = "Districts: rooftop PV capacity (MWp, imaged part)" if len(d) else "Where the buildings are"
    for ax, title in ((overview, overview_title),
                      (zoom, "Imaged area: building density and footprints")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("longitude (deg)", fontsize=8)
        ax.set_ylabel("latitude (deg)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(useOffset=False)  # plain degrees, no "+1.163e2" offset
    if len(d):
        has_value = d["capacity_mwp"].notna() if "capacity_mwp" in d else np.zeros(len(d), bool)
        if (~has_value).any():
            d[~has_value].plot(ax=overview, color="#dddddd", edgecolor="#666666", linewidth=0.5)
        if has_value.any():
            d[has_value].plot(ax=overview, column="capacity_mwp", cmap="YlOrRd", edgecolor="#333333", linewidth=0.5,
                              legend=True, legend_kwds={"shrink": 0.6, "label": "MWp"})
        for _, row in d.iterrows():
            point = row.geometry.representative_point()
            overview.annotate(str(row["district"]), (point.x, point.y), fontsize=6, ha="center", color="#222222")
        d.boundary.plot(ax=zoom, color="#666666", linewidth=0.6)
    if len(g):
        g.plot(ax=zoom, column="coverage", cmap="Blues", alpha=0.6, vmin=0, vmax=1, legend=True,
               legend_kwds={"shrink": 0.6, "label": "building coverage of a cell"})
        g.boundary.plot(ax=overview, color="#2c7bb6", linewidth=0.4)
    if len(f):
        f.plot(ax=zoom, color=FOOTPRINT_COLOUR, linewidth=0)
        f.representative_point().plot(ax=overview, color=FOOTPRINT_COLOUR, markersize=0.5)
    focus = g if len(g) else f
    if len(g) and "coverage" in g:
        # imagery is often scattered over a city: zoom on a window around the densest density cell
        centre = g.geometry.iloc[int(np.nanargmax(g["coverage"].to_numpy(dtype=float)))].centroid
        half_lat = ZOOM_HALF_M / 111_320.0  # metres per degree of latitude
        half_lon = half_lat / max(math.cos(math.radians(centre.y)), 0.1)
        zoom.set_xlim(centre.x - half_lon, centre.x + half_lon)
        zoom.set_ylim(centre.y - half_lat, centre.y + half_lat)
        zoom.set_title(f"Densest area ({2 * ZOOM_HALF_M:,.0f} m window): building density and footprints", fontsize=10)
    for ax, layer in ((overview, d if len(d) else focus), (zoom, focus)):
        ax.set_aspect(_aspect(layer) if len(layer) else 1.0)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
