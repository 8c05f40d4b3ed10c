"""Density grid: building coverage ratio per square cell, over imaged pixels only."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from pgssl_core.assess.metric_crs import local_utm, require_crs
from pgssl_core.errors import PgsslError


def _candidate_cells(geoms: np.ndarray, cell_m: float) -> np.ndarray:
    """Grid squares covering the bounds of each geometry (not the bounds of all: tiles may lie far apart)."""
    keys = set()
    for xmin, ymin, xmax, ymax in shapely.bounds(geoms[~shapely.is_empty(geoms)]):
        ix = np.arange(math.floor(xmin / cell_m), math.ceil(xmax / cell_m))
        iy = np.arange(math.floor(ymin / cell_m), math.ceil(ymax / cell_m))
        gx, gy = np.meshgrid(ix, iy)
        keys.update(zip(gx.ravel().tolist(), gy.ravel().tolist()))
    idx = np.array(sorted(keys), dtype=float).reshape(-1, 2) * cell_m
    return shapely.box(idx[:, 0], idx[:, 1], idx[:, 0] + cell_m, idx[:, 1] + cell_m)


def density_grid(footprints: gpd.GeoDataFrame, imaged: gpd.GeoDataFrame, cell_m: float = 100.0,
                 out_crs=4326) -> gpd.GeoDataFrame:
    """Coverage ratio (footprint area / imaged area) per ``cell_m`` x ``cell_m`` m cell.

    Cells are squares in the local UTM zone, aligned to multiples of ``cell_m`` so grids from
    different runs line up. Only the imaged part of a cell counts, and cells with no imagery are
    left out (they are unknown, not empty). Footprints are assumed not to overlap each other.
    Columns: ``imaged_m2``, ``building_m2``, ``coverage`` (0..1), ``lon``/``lat`` of the cell
    centre (for heatmaps), geometry in ``out_crs``.
    """
    if cell_m <= 0:
        raise PgsslError(f"cell size must be positive, got {cell_m} m")
    require_crs(imaged, "the imaged extent")
    require_crs(footprints, "the footprints")
    metric = local_utm(imaged)
    area_img = shapely.union_all(imaged.to_crs(metric).geometry.to_numpy())
    if area_img.is_empty:
        raise PgsslError("no imaged area: every pixel is nodata, so there is no density to compute")
    cells = _candidate_cells(imaged.to_crs(metric).geometry.to_numpy(), cell_m)
    shapely.prepare(area_img)
    cells = cells[shapely.intersects(area_img, cells)]
    imaged_m2 = shapely.area(shapely.intersection(cells, area_img))
    grid = gpd.GeoDataFrame({"imaged_m2": imaged_m2}, geometry=cells, crs=metric)
    grid = grid[grid["imaged_m2"] > 1e-6].reset_index(drop=True)

    fp = footprints.to_crs(metric)
    fp = fp.assign(geometry=fp.geometry.intersection(area_img))  # buildings count only where imaged
    building = np.zeros(len(grid))
    if len(fp):
        pairs = grid.sindex.query(fp.geometry.to_numpy(), predicate="intersects")  # (2, n): fp idx, cell idx
        parts = shapely.area(shapely.intersection(fp.geometry.to_numpy()[pairs[0]], grid.geometry.to_numpy()[pairs[1]]))
        np.add.at(building, pairs[1], parts)
    grid["building_m2"] = building
    grid["coverage"] = np.clip(building / grid["imaged_m2"].to_numpy(), 0.0, 1.0)
    centres = grid.geometry.centroid.to_crs(4326)
    grid["lon"], grid["lat"] = centres.x.to_numpy(), centres.y.to_numpy()
    return grid.to_crs(out_crs)[["imaged_m2", "building_m2", "coverage", "lon", "lat", "geometry"]]
