"""Building footprints: prediction mask -> polygons with areas in m2 -> GeoPackage / GeoJSON."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from rasterio.crs import CRS

from pgssl_core.assess.metric_crs import zone_crs, zone_groups
from pgssl_core.assess.regularize import regularize_polygon
from pgssl_core.errors import PgsslError, first_line
from pgssl_core.tiles.prediction_format import NODATA, OUTPUT_TAG, PROB_SCALE


def _empty(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_m2": np.zeros(0)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def polygons_from_mask(mask: np.ndarray, transform: Affine, crs: CRS | str | None,
                       valid: np.ndarray | None = None) -> gpd.GeoSeries:
    """Raw outlines (holes kept) of the ``True`` pixels of a (H, W) boolean mask, in ``crs``."""
    if crs is None:
        raise PgsslError("the mask has no CRS, so footprints cannot be placed on the map or measured in m2")
    building = np.asarray(mask, dtype=bool)
    if valid is not None:
        building &= valid
    shapes = rasterio.features.shapes(building.astype(np.uint8), mask=building, transform=transform, connectivity=4)
    geoms = [shapely.geometry.shape(g) for g, _ in shapes]
    return gpd.GeoSeries(geoms, crs=crs)


def clean_footprints(outlines: gpd.GeoSeries, min_area_m2: float = 4.0, simplify_m: float = 0.5,
                     regularize: bool = False, out_crs=None,
                     attributes: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Simplify (tolerance in m), optionally square, filter by area (m2) and measure footprints.

    Each outline is worked on in the equal-area CRS of its own zone (``metric_crs.zone_crs``), so
    areas are right wherever the buildings lie, several UTM zones or high latitudes included; the
    result is in ``out_crs`` (default: the input CRS), in input order, with ``area_m2`` measured
    after simplification and squaring. ``attributes``: optional columns, one row per outline (same
    order), carried to the footprints that are kept.
    """
    crs = outlines.crs
    if crs is None:
        raise PgsslError("the footprints have no CRS; assign one before measuring areas")
    keep_rows = (~outlines.is_empty & outlines.notna()).to_numpy()
    outlines = outlines[keep_rows]
    if attributes is not None:
        attributes = attributes.reset_index(drop=True)[keep_rows].reset_index(drop=True)
    if outlines.empty:
        empty = _empty(out_crs or crs)
        return empty if attributes is None else empty.assign(**{c: attributes[c].iloc[:0] for c in attributes})
    parts = []
    for key, idx in zone_groups(outlines).items():
        metric = outlines.iloc[idx].to_crs(zone_crs(key))
        if simplify_m > 0:
            metric = metric.simplify(simplify_m, preserve_topology=True)
        if regularize:
            metric = gpd.GeoSeries([regularize_polygon(g) if g.geom_type == "Polygon" else g for g in metric],
                                   index=metric.index, crs=metric.crs)
        metric = metric[~metric.is_empty & metric.is_valid]
        area = metric.area
        keep = area >= min_area_m2
        part = gpd.GeoDataFrame({"area_m2": area[keep].to_numpy(), "_order": idx[keep.to_numpy()]},
                                geometry=metric[keep].to_numpy(), crs=metric.crs)
        parts.append(part.to_crs(out_crs or crs))
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=out_crs or crs).sort_values("_order")
    if attributes is not None:
        extra = attributes.iloc[gdf["_order"].to_numpy()].reset_index(drop=True)
        gdf = gdf.reset_index(drop=True)
        for column in extra.columns:
            gdf.insert(len(gdf.columns) - 1, column, extra[column].to_numpy())
    return gdf.drop(columns="_order").reset_index(drop=True)


def footprints_from_mask(mask: np.ndarray, transform: Affine, crs, valid: np.ndarray | None = None,
                         min_area_m2: float = 4.0, simplify_m: float = 0.5, regularize: bool = False,
                         out_crs=None) -> gpd.GeoDataFrame:
    """Footprint polygons (columns ``area_m2``, ``geometry``) from a (H, W) boolean building mask."""
    return clean_footprints(polygons_from_mask(mask, transform, crs, valid), min_area_m2, simplify_m,
                            regularize, out_crs)


def _classify(band: np.ndarray, kind: str | None, threshold: float) -> tuple[np.ndarray, np.ndarray, str]:
    """``(building, valid, kind)`` of a prediction band; an untagged band is a mask if it holds only 0/1."""
    valid = band != NODATA
    if kind is None:
        kind = "mask" if band[valid].max(initial=0) <= 1 else "probability"
    building = (band >= threshold * PROB_SCALE) if kind == "probability" else (band == 1)
    return building & valid, valid, kind


def read_prediction_regions(path: str | os.PathLike[str], threshold: float = 0.5
                            ) -> Iterator[tuple[np.ndarray, np.ndarray, Affine, CRS]]:
    """``(building (h, w) bool, valid (h, w) bool, transform, crs)`` per data region of a prediction.

    A ``predict_raster`` output is one region (read whole). A sparse output (a sparse source predicted
    region by region) is read region by region, so memory and time follow the stored blocks, not
    the declared size. Probability outputs are thresholded at ``threshold``; masks are used as they are.
    """
    from pgssl_core.tiles.blocks import block_presence
    from pgssl_core.tiles.regions import data_regions

    path = Path(path)
    try:
        with rasterio.open(path) as ds:
            transform, crs = ds.transform, ds.crs
            if crs is None:
                raise PgsslError(f"{path.name} has no CRS, so its buildings cannot be measured or placed in districts")
            blocks = block_presence(ds)
            regions = [(0, 0, ds.width, ds.height)] if blocks.complete else data_regions(blocks)
            kind = ds.tags().get(OUTPUT_TAG)
            for col, row, width, height in regions:
                band = ds.read(1, window=rasterio.windows.Window(col, row, width, height))
                building, valid, kind = _classify(band, kind, threshold)
                yield building, valid, transform @ Affine.translation(col, row), crs
    except rasterio.errors.RasterioError as exc:
        raise PgsslError(f"cannot read prediction raster {path.name}: {first_line(exc)}") from None
