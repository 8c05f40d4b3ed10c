"""Rooftop-PV potential per building, on the same PV model as the district table.

Each footprint gets the district that ``aggregate_districts`` counts it in (the district containing
its representative point) and PV figures from ``pv_potential`` at that district's centroid, the
location the district row uses. The PV chain is linear in roof area, so the figures of one m2 at a
location are scaled by each roof's area: the sum over a district's buildings equals the district's
row (central, low and high values) up to float rounding. Buildings outside every district share one
location: the centroid of their representative points.

Columns (units in the names): ``building_id``, ``district`` (empty string outside every district),
``roof_area_m2`` (footprint area in the districts' equal-area CRS, as the district sums use it),
``usable_m2``, ``kwp``, ``kwh_yr``, ``co2_t_yr``, each of the last four with ``_low`` / ``_high``.
The figures carry the PV assumption ranges only: the model-error correction is an area-level
(district) figure, see :mod:`pgssl_core.assess.model_error`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pgssl_core.assess.boundaries import load_boundaries
from pgssl_core.assess.districts import join_buildings
from pgssl_core.assess.metric_crs import equal_area, require_crs
from pgssl_core.assess.pv import PVAssumptions, pv_potential

OUTSIDE = ""  # ``district`` of a building that lies in no district

# per-building column -> (PVResult field, factor from the district unit to the building unit)
_PV_FIELDS = {"usable_m2": ("usable_roof_m2", 1.0), "kwp": ("capacity_mwp", 1e3),
              "kwh_yr": ("generation_gwh", 1e6), "co2_t_yr": ("co2_t", 1.0)}
BUILDING_PV_COLUMNS = [f"{name}{suffix}" for name in _PV_FIELDS for suffix in ("", "_low", "_high")]
BUILDING_COLUMNS = ["building_id", "district", "roof_area_m2", *BUILDING_PV_COLUMNS]


@dataclass
class BuildingJoin:
    """The slow, geometric part: each building's district, area and PV location.

    ``buildings``: the footprints (their own CRS and row order) with ``building_id``, ``district``
    and ``roof_area_m2``. ``location``: (n_buildings,) index into ``locations``, a (k, 2) array of
    lat, lon in degrees (one row per district, plus one for the buildings outside every district).
    """

    buildings: gpd.GeoDataFrame
    location: np.ndarray
    locations: np.ndarray

    def with_assumptions(self, assumptions: PVAssumptions | None = None) -> gpd.GeoDataFrame:
        """The buildings with the PV columns for ``assumptions`` (default ``PVAssumptions()``)."""
        a = assumptions or PVAssumptions()
        out = self.buildings.copy()
        area = out["roof_area_m2"].to_numpy(dtype=float)
        used = np.unique(self.location)
        per_m2 = {int(k): pv_potential(1.0, float(self.locations[k, 0]), float(self.locations[k, 1]), a).as_columns()
                  for k in used}
        for column, (field, factor) in _PV_FIELDS.items():
            for suffix in ("", "_low", "_high"):
                rate = np.zeros(len(self.locations))
                for k, cols in per_m2.items():
                    rate[k] = cols[f"{field}{suffix}"] * factor
                out[f"{column}{suffix}"] = area * rate[self.location] if len(area) else np.zeros(0)
        return out[[*BUILDING_COLUMNS, out.geometry.name]]


def join_building_districts(footprints: gpd.GeoDataFrame,
                            districts: gpd.GeoDataFrame | str | os.PathLike[str]) -> BuildingJoin:
    """District, equal-area roof area and PV location of each footprint (see the module doc).

    ``districts`` as for ``aggregate_districts`` (``"beijing"``, a boundary file, a GeoDataFrame,
    e.g. a district table in WGS84). Raises PgsslError when the footprints have no CRS.
    """
    require_crs(footprints, "the buildings")
    d = load_boundaries(districts)
    d_ea = d.to_crs(equal_area(d))
    joined = join_buildings(footprints, d_ea)
    index = joined["index_right"].to_numpy(dtype=float)
    inside = ~np.isnan(index)
    centroids = d_ea.geometry.centroid.to_crs(4326)
    locations = np.column_stack([centroids.y.to_numpy(), centroids.x.to_numpy()])
    location = np.where(inside, np.nan_to_num(index, nan=0.0), len(d)).astype(int)
    if (~inside).any():
        points = footprints.loc[~inside].geometry.representative_point().to_crs(4326)
        outside = np.array([[points.y.mean(), points.x.mean()]])
    else:
        outside = np.full((1, 2), np.nan)
    locations = np.vstack([locations, outside])
    names = np.append(d["district"].astype(str).to_numpy(), OUTSIDE)
    buildings = gpd.GeoDataFrame(
        {"building_id": np.arange(1, len(footprints) + 1), "district": names[location],
         "roof_area_m2": joined["fp_m2"].to_numpy(dtype=float)},
        geometry=footprints.geometry.to_numpy(), crs=footprints.crs)
    return BuildingJoin(buildings, location, locations)


def buildings_pv(footprints: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | str | os.PathLike[str],
                 assumptions: PVAssumptions | None = None) -> gpd.GeoDataFrame:
    """One row per footprint with district and PV columns (:data:`BUILDING_COLUMNS`), geometry kept."""
    return join_building_districts(footprints, districts).with_assumptions(assumptions)


def largest_roofs(buildings: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` buildings with the largest roof area (no geometry), largest first."""
    frame = pd.DataFrame(buildings)
    if isinstance(buildings, gpd.GeoDataFrame):
        frame = frame.drop(columns=buildings.geometry.name)
    return frame.sort_values("roof_area_m2", ascending=False, kind="stable").head(n).reset_index(drop=True)


def write_buildings_csv(buildings: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """The building table as UTF-8 CSV (atomically): :data:`BUILDING_COLUMNS` plus ``lon``/``lat`` (deg,
    WGS84) of each footprint's representative point instead of the geometry."""
    from pgssl_core.io import atomic_write_bytes

    points = buildings.geometry.representative_point().to_crs(4326) if len(buildings) else None
    frame = pd.DataFrame(buildings[BUILDING_COLUMNS])
    frame["lon"] = points.x.to_numpy() if points is not None else np.zeros(0)
    frame["lat"] = points.y.to_numpy() if points is not None else np.zeros(0)
    atomic_write_bytes(Path(path), frame.to_csv(index=False, float_format="%.6g").encode("utf-8"))
    return Path(path)
