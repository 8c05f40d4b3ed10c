"""Assessment inputs from a folder of prediction GeoTIFFs: footprints and imaged extents per tile."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from pgssl_core.assess.footprints import clean_footprints, polygons_from_mask, read_prediction_regions
from pgssl_core.assess.imaged import imaged_extent
from pgssl_core.assess.seams import merge_across_tiles
from pgssl_core.errors import PgsslError
from pgssl_core.tiles.formats import GEOTIFF_SUFFIXES

#: A list file: one raster path per line (``predict --input list.txt``).
LIST_SUFFIX = ".txt"


def list_rasters(folder_or_file: str | os.PathLike[str], suffixes: tuple[str, ...] = GEOTIFF_SUFFIXES,
                 keep_missing: bool = False) -> list[Path]:
    """Files with one of ``suffixes`` in a folder (sorted, not recursive), the single file given, or the files
    named in a list file (``.txt``: one path per line, relative paths from the list's folder; ``#`` comments).

    A list naming files that do not exist is a ``PgsslError`` naming them, unless ``keep_missing``: then they
    are returned too, for a caller that reports and skips them (``predict``)."""
    p = Path(folder_or_file)
    if p.is_file() and p.suffix.lower() == LIST_SUFFIX:
        lines = [line.split("#", 1)[0].strip() for line in p.read_text(encoding="utf-8").splitlines()]
        files = [p.parent / line for line in lines if line]
        missing = [f for f in files if not f.is_file()]
        if missing and not keep_missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise PgsslError(f"{p.name} names {len(missing)} missing file(s): "
                             f"{', '.join(str(f) for f in missing[:5])}{more} "
                             f"(relative paths are read from the list's folder, {p.resolve().parent})")
        if not files:
            raise PgsslError(f"{p.name} names no files")
        return files
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise PgsslError(f"input not found: {p}")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in suffixes and not f.name.startswith("."))
    if not files:
        raise PgsslError(f"no {'/'.join(suffixes)} files in {p}")
    return files


def raw_outlines(path: Path, threshold: float = 0.5, name: str | None = None
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(raw building outlines, imaged extent)`` of one prediction raster in WGS84, both with a ``tile``
    column holding ``name`` (default the file's stem). Raw: before seams are joined and before simplification."""
    name = name or path.stem
    outlines, pieces = [], []  # a sparse prediction comes region by region; others in one piece
    for building, valid, transform, crs in read_prediction_regions(path, threshold):
        raw = polygons_from_mask(building, transform, crs, valid)
        outlines.append(gpd.GeoDataFrame({"tile": [name] * len(raw)}, geometry=raw.to_crs(4326).to_numpy(), crs=4326))
        pieces.append(imaged_extent(valid, transform, crs, name).to_crs(4326))
    extent = pieces[0] if len(pieces) == 1 else gpd.GeoDataFrame(
        {"tile": [name]}, geometry=[shapely.union_all(pd.concat(pieces).geometry.to_numpy())], crs=4326)
    return gpd.GeoDataFrame(pd.concat(outlines, ignore_index=True), crs=4326), extent


def merged_footprints(outlines: list[gpd.GeoDataFrame], min_area_m2: float = 4.0, simplify_m: float = 0.5,
                      regularize: bool = False) -> gpd.GeoDataFrame:
    """Footprints (WGS84, ``tile`` column) from raw outlines of several rasters or bands: joined across seams
    and overlaps (``seams.merge_across_tiles``), then simplified, filtered and measured once."""
    joined = merge_across_tiles(gpd.GeoDataFrame(pd.concat(outlines, ignore_index=True), crs=4326))
    return clean_footprints(joined.geometry, min_area_m2, simplify_m, regularize, out_crs=4326,
                            attributes=joined[["tile"]])


def footprints_and_extents(paths: Iterable[str | os.PathLike[str]], threshold: float = 0.5, min_area_m2: float = 4.0,
                           simplify_m: float = 0.5, regularize: bool = False,
                           progress: Callable[[Path], None] | None = None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(footprints, imaged)`` in WGS84 over prediction rasters; both carry a ``tile`` column.

    Raw outlines of all rasters are joined across tile seams and overlaps first
    (``seams.merge_across_tiles``), then simplified, filtered and measured once, so a building cut by
    a tile edge, or seen by two overlapping tiles, is one footprint with its whole area (its ``tile``
    names every tile it came from, joined with ``+``).
    """
    outlines, extents = [], []
    for path in map(Path, paths):  # str paths too: raw_outlines names tiles by Path.stem
        raw, extent = raw_outlines(path, threshold)
        outlines.append(raw)
        extents.append(extent)
        if progress is not None:
            progress(path)
    if not extents:
        raise PgsslError("no prediction rasters given")
    footprints = merged_footprints(outlines, min_area_m2, simplify_m, regularize)
    imaged = gpd.GeoDataFrame(pd.concat(extents, ignore_index=True), crs=4326)
    return footprints, imaged
