"""Density grid: building coverage ratio per square cell, over imaged pixels only."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pgssl_core.assess.metric_crs import require_crs, zone_crs, zone_region, zones_touched
from pgssl_core.errors import PgsslError


def _candidate_cells(geoms: np.ndarray, cell_m: float) -> np.ndarray:
    """Grid squares covering the bounds of each geometry (not the bounds of all: tiles may lie far apart)."""
    keys: set[tuple[int, int]] = set()
    for xmin, ymin, xmax, ymax in shapely.bounds(geoms[~shapely.is_empty(geoms)]):
        ix = np.arange(math.floor(xmin / cell_m), math.ceil(xmax / cell_m))
        iy = np.arange(math.floor(ymin / cell_m), math.ceil(ymax / cell_m))
        gx, gy = np.meshgrid(ix, iy)
        keys.update(zip(gx.ravel().tolist(), gy.ravel().tolist()))
    idx = np.array(sorted(keys), dtype=np.float64).reshape(-1, 2) * cell_m
    return shapely.box(idx[:, 0], idx[:, 1], idx[:, 0] + cell_m, idx[:, 1] + cell_m)


#: Cells whose imaged part is below this share of a full cell are projection noise, not imagery.
MIN_IMAGED_SHARE: float = 1e-6
#: Step (deg) at which a zone's edges are densified before projection (its edges curve in the CRS).
ZONE_EDGE_STEP_DEG: float = 0.05


def _zone_cells(imaged: gpd.GeoSeries, footprints: gpd.GeoSeries, key, cell_m: float) -> gpd.GeoDataFrame:
    """Cells of one zone: the imaged area and buildings inside the zone, in the zone's equal-area CRS.

    Geometries go straight from their own CRS to the zone's (no detour through WGS84, whose round
    trip moves edges by up to a millimetre and leaves slivers in neighbouring cells).
    """
    metric = zone_crs(key)
    region = gpd.GeoSeries([shapely.segmentize(zone_region(key), ZONE_EDGE_STEP_DEG)], crs=4326).to_crs(metric)
    area_img = shapely.intersection(shapely.union_all(imaged.to_crs(metric).make_valid().to_numpy()),
                                    region.iloc[0])
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=metric), crs=metric)
    if area_img.is_empty or area_img.area == 0:
        return empty
    parts = gpd.GeoSeries([area_img], crs=metric).explode(index_parts=False).geometry.to_numpy()
    cells = _candidate_cells(parts, cell_m)
    shapely.prepare(area_img)
    cells = cells[shapely.intersects(area_img, cells)]
    imaged_m2 = shapely.area(shapely.intersection(cells, area_img))
    grid = gpd.GeoDataFrame({"imaged_m2": imaged_m2}, geometry=cells, crs=metric)
    grid = grid[grid["imaged_m2"] > MIN_IMAGED_SHARE * cell_m**2].reset_index(drop=True)
    if grid.empty:
        return empty
    building = np.zeros(len(grid))
    if len(footprints):
        fp = footprints.to_crs(metric).make_valid().to_numpy()
        fp = shapely.union_all(fp[shapely.intersects(fp, area_img)])  # overlapping copies count once
        # buildings count only where imaged, and only their part inside this zone (each once overall)
        geoms = gpd.GeoSeries([shapely.intersection(fp, area_img)], crs=metric).explode(index_parts=False)
        geoms = geoms[~geoms.is_empty].geometry.to_numpy()
        pairs = grid.sindex.query(geoms, predicate="intersects")  # (2, n): footprint, cell
        pieces = shapely.area(shapely.intersection(geoms[pairs[0]], grid.geometry.to_numpy()[pairs[1]]))
        np.add.at(building, pairs[1], pieces)
    grid["building_m2"] = building
    centres = grid.geometry.centroid.to_crs(4326)  # centres taken in the metric CRS, then to lon/lat
    grid["lon"], grid["lat"] = centres.x.to_numpy(), centres.y.to_numpy()
    return grid


def density_grid(footprints: gpd.GeoDataFrame, imaged: gpd.GeoDataFrame, cell_m: float = 100.0,
                 out_crs=4326) -> gpd.GeoDataFrame:
    """Coverage ratio (footprint area / imaged area) per ``cell_m`` x ``cell_m`` m cell.

    Cells are squares in the equal-area CRS of each fixed zone (``metric_crs.zone_crs``: 6 x 8
    degrees, polar caps beyond 84 degrees), aligned to multiples of ``cell_m`` so grids from
    different runs line up; a full cell holds ``cell_m**2`` m2 and is ``cell_m`` wide to within 0.1%.
    Data spread over several zones gets cells in each (cut at the zone edge). Only the imaged part
    of a cell counts, and cells with no imagery are left out (they are unknown, not empty).
    Overlapping footprints (the same building from overlapping tiles) count once: they are merged
    first. Columns: ``imaged_m2``, ``building_m2``, ``coverage`` (0..1), ``lon``/``lat`` of the cell
    centre (for heatmaps), geometry in ``out_crs``.
    """
    if cell_m <= 0:
        raise PgsslError(f"cell size must be positive, got {cell_m} m")
    require_crs(imaged, "the imaged extent")
    require_crs(footprints, "the footprints")
    imaged = imaged[~imaged.geometry.is_empty & imaged.geometry.notna()]
    if imaged.empty:
        raise PgsslError("no imaged area: every pixel is nodata, so there is no density to compute")
    grids = [_zone_cells(imaged.geometry, footprints.geometry, key, cell_m)
             for key in zones_touched(imaged.geometry.to_crs(4326))]
    grids = [g.to_crs(4326) for g in grids if len(g)]
    if not grids:
        raise PgsslError("no imaged area: every pixel is nodata, so there is no density to compute")
    grid = gpd.GeoDataFrame(pd.concat(grids, ignore_index=True), crs=4326)
    grid["coverage"] = np.clip(grid["building_m2"].to_numpy() / grid["imaged_m2"].to_numpy(), 0.0, 1.0)
    return grid.to_crs(out_crs)[["imaged_m2", "building_m2", "coverage", "lon", "lat", "geometry"]]
