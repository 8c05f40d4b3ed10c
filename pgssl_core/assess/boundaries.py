"""District boundary files: GeoJSON, GeoPackage, zipped Shapefile, or the Beijing demo default."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pgssl_core.errors import PgsslError, first_line

NAME_CANDIDATES = ("name", "NAME", "Name", "name_pinyin", "name_en", "NAME_EN", "district", "DISTRICT", "name_zh")


def read_boundary_file(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a boundary file; a ``.zip`` is opened as a zipped Shapefile (or any zipped vector)."""
    path = Path(path)
    if not path.is_file():
        raise PgsslError(f"boundary file not found: {path}")
    target = f"/vsizip/{path.resolve()}" if path.suffix.lower() == ".zip" else str(path)
    try:
        return gpd.read_file(target)
    except Exception as exc:  # noqa: BLE001 - every driver error means "cannot use this file"
        raise PgsslError(f"cannot read boundary file {path.name} (GeoJSON, GeoPackage or zipped Shapefile "
                         f"expected): {first_line(exc)}") from None


def _name_column(gdf: gpd.GeoDataFrame) -> pd.Series:
    for col in NAME_CANDIDATES:
        if col in gdf.columns:
            return gdf[col].astype(str)
    text_cols = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype == object]
    if text_cols:
        return gdf[text_cols[0]].astype(str)
    return pd.Series([f"district {i + 1}" for i in range(len(gdf))], index=gdf.index)


def load_boundaries(source: str | os.PathLike[str] | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Districts as a GeoDataFrame with a ``district`` name column and polygon geometries.

    ``source`` is ``"beijing"`` (the demo's 16 districts), a file path or a GeoDataFrame.
    Other columns are kept. Raises ``PgsslError`` for unreadable files, a missing CRS or no polygons.
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf, label = source.copy(), "the boundary table"
    elif str(source).lower() == "beijing":
        from pgssl_core.demo.districts import load_beijing_districts

        gdf, label = load_beijing_districts(), "the Beijing districts"
        gdf["district"] = gdf["name_pinyin"]
    else:
        gdf, label = read_boundary_file(source), Path(source).name
    if gdf.crs is None:
        raise PgsslError(f"{label} has no CRS; add a .prj (Shapefile) or a crs member, or reproject it to EPSG:4326")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:
        raise PgsslError(f"{label} contains no polygon boundaries")
    if "district" not in gdf.columns:
        gdf = gdf.assign(district=_name_column(gdf))
    gdf = gdf.assign(geometry=gdf.geometry.make_valid())
    return gdf.reset_index(drop=True)
