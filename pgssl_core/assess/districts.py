"""Per-district statistics: imaged area, buildings, coverage and rooftop-PV potential."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pgssl_core.assess.boundaries import load_boundaries
from pgssl_core.assess.metric_crs import equal_area, require_crs
from pgssl_core.assess.pv import PVAssumptions, pv_potential, site_columns
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_bytes

STATUS_NONE = "no imagery"
STATUS_PARTLY = "partly imaged"
STATUS_FULL = "fully imaged"
STATUS_UNKNOWN = "imaged extent unknown"
FULL_SHARE = 0.999  # imaged share above which a district counts as fully imaged (rounding of pixel edges)


@dataclass
class DistrictReport:
    """Result of ``aggregate_districts``.

    ``table``: one row per district (WGS84 geometry for maps); metrics are NaN where a district
    has no imagery (``status`` says why). ``outside``: tiles with imagery outside every district
    (``tile``, ``imaged_km2``, ``outside_km2``, ``status``). ``buildings_outside``: footprints
    whose centre lies in no district.
    """

    table: gpd.GeoDataFrame
    outside: pd.DataFrame
    buildings_outside: int
    assumptions: PVAssumptions = field(default_factory=PVAssumptions)


def district_pv_columns(footprint_m2: float, lat: float, lon: float, assumptions: PVAssumptions) -> dict[str, object]:
    """The PV columns of one imaged district: its rooftop PV at the district centroid, and the site it rests on.

    Args:
        footprint_m2: the district's building footprint area (m²).
        lat: latitude of the district centroid in degrees (WGS84), where the PV model is evaluated.
        lon: longitude of the district centroid in degrees (WGS84).
        assumptions: the PV assumptions (site-following values resolved or not, see ``PVAssumptions.for_site``).

    Returns:
        ``pv_potential(...).as_columns()`` (``usable_roof_m2``, ``capacity_mwp``, ``generation_gwh``, ``co2_t``,
        each with ``_low``/``_high``) and ``site_columns(...)`` (which tilt, azimuth and irradiation the figures
        rest on, and why): one row's worth, for the district table and for a new set of assumptions alike.
    """
    return {**pv_potential(footprint_m2, lat, lon, assumptions).as_columns(), **site_columns(lat, lon, assumptions)}


def _outside_tiles(img: gpd.GeoDataFrame, union: shapely.Geometry) -> pd.DataFrame:
    rows = []
    for name, geom in zip(img["tile"], img.geometry):
        total = geom.area
        outside = geom.difference(union).area
        if outside > 1e-6 * max(total, 1.0):
            status = "outside every district" if outside >= total * (1 - 1e-9) else "partly outside"
            rows.append({"tile": name, "imaged_km2": total / 1e6, "outside_km2": outside / 1e6, "status": status})
    return pd.DataFrame(rows, columns=["tile", "imaged_km2", "outside_km2", "status"])


def join_buildings(footprints: gpd.GeoDataFrame, districts_ea: gpd.GeoDataFrame) -> pd.DataFrame:
    """District of each building, as ``aggregate_districts`` counts it.

    ``districts_ea``: the districts in an equal-area CRS (row positions 0..n-1). Returns one row per
    footprint, in the footprints' order: ``fp_m2`` (footprint area, m2, in that CRS) and
    ``index_right`` (row position of the district containing the footprint's representative point,
    NaN outside every district; a point on a shared border goes to one district).
    """
    ea = districts_ea.crs
    fp = footprints.to_crs(ea)
    fp = gpd.GeoDataFrame({"fp_m2": fp.area.to_numpy()}, geometry=fp.representative_point().to_numpy(), crs=ea)
    joined = gpd.sjoin(fp, districts_ea[["geometry"]].reset_index(drop=True), predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    return pd.DataFrame({"fp_m2": joined["fp_m2"].to_numpy(), "index_right": joined["index_right"].to_numpy()})


def aggregate_districts(districts: gpd.GeoDataFrame | str | os.PathLike[str], footprints: gpd.GeoDataFrame,
                        imaged: gpd.GeoDataFrame | None, assumptions: PVAssumptions | None = None) -> DistrictReport:
    """Aggregate footprints and imaged extents (one row per tile, column ``tile``) per district.

    Areas are computed in an Albers equal-area CRS fitted to the districts
    (:func:`~pgssl_core.assess.metric_crs.equal_area`). A building belongs to the district containing
    its representative point. PV figures come from :func:`~pgssl_core.assess.pv.pv_potential` at the
    district centroid, with low/high columns. A district counts as fully imaged above
    :data:`FULL_SHARE` (0.999) of its area, which absorbs the rounding of pixel edges.

    Args:
        districts: ``"beijing"`` (the shipped 16 districts), a boundary file path, or a GeoDataFrame
            with a ``district`` name column (see :func:`~pgssl_core.assess.boundaries.load_boundaries`).
        footprints: building polygons in any CRS (one row per building).
        imaged: imaged extents, one polygon per tile with a ``tile`` column, in any CRS; None (only a
            buildings file known) leaves imaged area and coverage NaN with status ``imaged extent unknown``.
        assumptions: the PV assumptions (default :class:`~pgssl_core.assess.pv.PVAssumptions`).

    Returns:
        The district table (WGS84 geometry; ``district_km2``, ``imaged_km2``, ``imaged_share`` (0..1),
        ``status``; for imaged districts ``building_count``, ``footprint_m2``, ``coverage`` (footprint /
        imaged area, 0..1), ``usable_roof_m2``, ``capacity_mwp``, ``generation_gwh`` (GWh/yr), ``co2_t``
        (t/yr), each with ``_low``/``_high``, and the site columns; NaN where not imaged), the tiles
        outside every district, the number of buildings outside every district, and the assumptions.

    Raises:
        PgsslError: an unreadable boundary file, footprints or extents without a CRS, no tile
            overlapping any district, or (without ``imaged``) no building inside any district.
    """
    a = assumptions or PVAssumptions()
    d = load_boundaries(districts)
    require_crs(footprints, "the buildings")
    ea = equal_area(d)
    d_ea = d.to_crs(ea)
    union = shapely.union_all(d_ea.geometry.to_numpy())
    district_m2 = d_ea.area.to_numpy()

    if imaged is not None:
        require_crs(imaged, "the imagery extent")
        img = imaged.to_crs(ea)
        outside = _outside_tiles(img, union)
        if len(img) and (outside["status"] == "outside every district").sum() == len(img):
            raise PgsslError(f"none of the {len(img)} tiles overlaps any of the {len(d)} districts; check the "
                             "boundary file and that the rasters are georeferenced in the right place")
        img_union = shapely.union_all(img.geometry.to_numpy())
        imaged_m2 = shapely.area(shapely.intersection(d_ea.geometry.to_numpy(), img_union))
    else:
        outside = pd.DataFrame(columns=["tile", "imaged_km2", "outside_km2", "status"])
        imaged_m2 = np.full(len(d), np.nan)

    joined = join_buildings(footprints, d_ea)
    buildings_outside = int(joined["index_right"].isna().sum())
    per = joined.dropna(subset=["index_right"]).groupby("index_right")["fp_m2"].agg(["count", "sum"])
    count = per["count"].reindex(range(len(d)), fill_value=0).to_numpy(dtype=float)
    fp_m2 = per["sum"].reindex(range(len(d)), fill_value=0.0).to_numpy(dtype=float)
    if imaged is None and len(joined) and buildings_outside == len(joined):
        raise PgsslError(f"none of the {len(joined)} buildings lies in any of the {len(d)} districts")

    centroids = d_ea.geometry.centroid.to_crs(4326)
    rows = []
    for i in range(len(d)):
        known = imaged is None or imaged_m2[i] > 0
        share = imaged_m2[i] / district_m2[i]
        status = STATUS_UNKNOWN if imaged is None else (
            STATUS_NONE if not known else STATUS_FULL if share >= FULL_SHARE else STATUS_PARTLY)
        row = {"district": d["district"].iloc[i], "status": status, "district_km2": district_m2[i] / 1e6,
               "imaged_km2": imaged_m2[i] / 1e6, "imaged_share": share}
        if known:
            row.update(building_count=count[i], footprint_m2=fp_m2[i], coverage=fp_m2[i] / imaged_m2[i])
            row.update(district_pv_columns(fp_m2[i], centroids.y.iloc[i], centroids.x.iloc[i], a))
        rows.append(row)
    table = pd.DataFrame(rows)
    extra = [c for c in ("adcode", "name_zh") if c in d.columns]
    table = pd.concat([d[extra].reset_index(drop=True), table], axis=1)
    table = gpd.GeoDataFrame(table, geometry=d.geometry.to_crs(4326).to_numpy(), crs=4326)
    return DistrictReport(table, outside, buildings_outside, a)


def write_district_csv(report: DistrictReport, path: str | os.PathLike[str]) -> Path:
    """Write the district table (without geometry) as UTF-8 CSV, atomically."""
    path = Path(path)
    frame = pd.DataFrame(report.table.drop(columns=report.table.geometry.name))
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode("utf-8"))
    return path
