"""District boundaries of a project: the shipped Beijing districts by default, or a file the user
uploads on the Map page (GeoJSON, GeoPackage or zipped Shapefile, any CRS, any name column), kept
inside the project folder. With no boundary covering the tiles, the imaged area itself is one row.

Only :func:`boundary_panel` touches Streamlit; the rest takes plain arguments (testable alone).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from pgssl_core.assess.boundaries import NAME_CANDIDATES, load_boundaries, read_boundary_file
from pgssl_core.assess.imaged import IMAGED_AREA, imaged_area  # noqa: F401 - re-exported
from pgssl_core.assess.project_boundaries import (  # noqa: F401 - re-exported
    DEFAULT,
    FOLDER,
    SETTING,
    BoundaryChoice,
    districts_for,
    project_boundaries,
)
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError

UPLOAD_TYPES = ["geojson", "json", "gpkg", "zip"]


def name_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    """Columns that could name the districts, the likeliest first."""
    def is_id(column: str) -> bool:  # "id", "fid", "OBJECTID", "gid": keys, not names
        return column.lower() in ("id", "fid", "gid", "objectid", "ogc_fid")

    text = [c for c in gdf.columns if c != gdf.geometry.name and not is_id(c)
            and (pd.api.types.is_string_dtype(gdf[c]) or pd.api.types.is_object_dtype(gdf[c]))]
    others = [c for c in gdf.columns if c != gdf.geometry.name and c not in text]
    preferred = [c for c in NAME_CANDIDATES if c in text]
    return preferred + [c for c in text if c not in preferred] + others


def store_upload(project: Project, file_name: str, data: bytes) -> tuple[Path, gpd.GeoDataFrame]:
    """Save an uploaded boundary file in the project (named by its content, so a rerun with the same
    upload writes nothing new) and read it back.

    Raises PgsslError (one line) when it is not a readable vector file with polygons and a CRS; the
    stored copy is removed then.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix.lstrip(".") not in UPLOAD_TYPES:
        raise PgsslError(f"{file_name}: boundaries must be GeoJSON, GeoPackage or a zipped Shapefile")
    folder = project.root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    if not path.is_file():
        path.write_bytes(data)
    try:
        gdf = read_boundary_file(path)
        load_boundaries(gdf)  # CRS and polygons checked with the library's messages
    except PgsslError:
        path.unlink(missing_ok=True)
        raise
    return path, gdf


def use_boundaries(project: Project, path: Path, name_column: str, original: str) -> None:
    project.set_setting(SETTING, {"file": str(path.relative_to(project.root)), "name_column": name_column,
                                  "original": original})


def boundary_panel(project: Project) -> None:
    """An expander to upload the city's district boundaries, pick the name column, or go back to the default."""
    choice = project_boundaries(project)
    with st.expander(f"District boundaries: {choice.label}", icon=":material/map:"):
        st.caption("Upload your city's districts as GeoJSON, GeoPackage or a zipped Shapefile (any CRS). "
                   "They are kept in the project and used for the district table, the map and the downloads.")
        upload = st.file_uploader("Boundary file", type=UPLOAD_TYPES, key="boundary_upload")
        if upload is not None:
            try:
                path, gdf = store_upload(project, upload.name, upload.getvalue())
            except PgsslError as exc:
                st.error(str(exc))
            else:
                columns = name_columns(gdf)
                column = st.selectbox("Column with the district names", columns, key="boundary_name_column",
                                      help=f"{len(gdf)} features; first values: "
                                           f"{', '.join(gdf[columns[0]].astype(str).head(3)) if columns else '—'}")
                if st.button("Use these boundaries", key="boundary_use", type="primary"):
                    use_boundaries(project, path, column, upload.name)
                    st.rerun()
        if choice.file is not None and st.button("Back to the shipped Beijing districts", key="boundary_default"):
            project.set_setting(SETTING, None)
            st.rerun()
