"""Assessment inputs from a folder of prediction GeoTIFFs: footprints and imaged extents per tile."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pgssl_core.assess.footprints import footprints_from_mask, read_prediction
from pgssl_core.assess.imaged import imaged_extent
from pgssl_core.errors import PgsslError

RASTER_SUFFIXES = (".tif", ".tiff")


def list_rasters(folder_or_file: str | os.PathLike[str], suffixes: tuple[str, ...] = RASTER_SUFFIXES) -> list[Path]:
    """Files with one of ``suffixes`` in a folder (sorted, not recursive), or the single file given."""
    p = Path(folder_or_file)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise PgsslError(f"input not found: {p}")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in suffixes and not f.name.startswith("."))
    if not files:
        raise PgsslError(f"no {'/'.join(suffixes)} files in {p}")
    return files


def footprints_and_extents(paths: Iterable[Path], threshold: float = 0.5, min_area_m2: float = 4.0,
                           simplify_m: float = 0.5, regularize: bool = False,
                           progress: Callable[[Path], None] | None = None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(footprints, imaged)`` in WGS84 over prediction rasters; both carry a ``tile`` column."""
    fps, extents = [], []
    for path in paths:
        building, valid, transform, crs = read_prediction(path, threshold)
        fp = footprints_from_mask(building, transform, crs, valid, min_area_m2, simplify_m, regularize, out_crs=4326)
        fps.append(fp.assign(tile=path.stem))
        extents.append(imaged_extent(valid, transform, crs, path.stem).to_crs(4326))
        if progress is not None:
            progress(path)
    if not fps:
        raise PgsslError("no prediction rasters given")
    footprints = gpd.GeoDataFrame(pd.concat(fps, ignore_index=True), crs=4326)
    imaged = gpd.GeoDataFrame(pd.concat(extents, ignore_index=True), crs=4326)
    return footprints, imaged
