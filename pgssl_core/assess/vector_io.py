"""Atomic writes of vector layers as GeoPackage or GeoJSON."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_with


def write_vector(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], layer: str) -> Path:
    """Write ``gdf`` atomically: ``.gpkg`` (any CRS, named ``layer``) or ``.geojson``/``.json`` (WGS84)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if gdf.crs is None:
        raise PgsslError(f"{path.name}: the {layer} layer has no CRS; it cannot be written as a map layer")
    if suffix == ".gpkg":
        atomic_write_with(path, lambda tmp: gdf.to_file(tmp, driver="GPKG", layer=layer))
    elif suffix in (".geojson", ".json"):
        # RFC 7946: GeoJSON coordinates are WGS84 longitude/latitude. The layer name becomes the collection's
        # "name" member: the output's own stem, not the temporary file's (GDAL's default).
        atomic_write_with(path, lambda tmp: gdf.to_crs(4326).to_file(tmp, driver="GeoJSON", layer=path.stem))
    else:
        raise PgsslError(f"{path.name}: vector layers are written as .gpkg or .geojson, not {suffix or 'no extension'}")
    return path
