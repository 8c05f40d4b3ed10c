"""Project assessment split into a slow geometry part (done once) and fast PV arithmetic (per slider move).

``prepare_assessment`` does every spatial operation: the district join of the footprints, the
imaged area per district and the density grid; it also warms pvlib's clear-sky cache at each
district centroid. ``Assessment.with_assumptions`` then only reruns ``pv_potential`` per imaged
district (a few ms each once the clear-sky year of that place is cached), so a new set of PV
assumptions is answered well within a second. ``assess_project`` does both in one call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from pgssl_core.assess.density import density_grid
from pgssl_core.assess.districts import DistrictReport, aggregate_districts
from pgssl_core.assess.metric_crs import equal_area
from pgssl_core.assess.pv import PVAssumptions, PVResult, pv_potential, site_columns

#: PV columns that depend on the assumptions (central, low and high of each ``PVResult`` field).
PV_COLUMNS = [f"{name}{suffix}" for name in PVResult.__dataclass_fields__ for suffix in ("", "_low", "_high")]
#: Columns saying which tilt, azimuth and irradiation the PV figures rest on (``pv.site_columns``).
SITE_COLUMNS = ["pv_tilt_deg", "pv_azimuth_deg", "pv_annual_ghi_kwh_m2", "pv_basis"]


@dataclass
class Assessment:
    """District table and density grid of one set of footprints.

    ``report.table``: one row per district, WGS84 geometry (see ``aggregate_districts``), PV
    columns NaN where a district has no imagery; ``report`` is None when no districts were given.
    ``grid``: density cells (``coverage`` 0..1, ``lon``/``lat`` of cell centres). ``centroids``:
    (n_districts, 2) lat, lon in degrees, used for the PV model.
    """

    report: DistrictReport | None
    grid: gpd.GeoDataFrame
    centroids: np.ndarray

    @property
    def table(self) -> gpd.GeoDataFrame:
        """The district table (empty, with ``district`` and ``status`` columns, without districts)."""
        if self.report is None:
            return gpd.GeoDataFrame({"district": [], "status": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        return self.report.table

    def with_assumptions(self, assumptions: PVAssumptions) -> Assessment:
        """The same geometry with PV columns recomputed for ``assumptions`` (areas unchanged)."""
        if self.report is None:
            return self
        table = self.report.table.copy()
        known = table["footprint_m2"].notna().to_numpy() if "footprint_m2" in table else np.zeros(len(table), bool)
        rows = {i: {**pv_potential(float(table["footprint_m2"].iloc[i]), float(self.centroids[i, 0]),
                                   float(self.centroids[i, 1]), assumptions).as_columns(),
                    **site_columns(float(self.centroids[i, 0]), float(self.centroids[i, 1]), assumptions)}
                for i in np.flatnonzero(known)}
        if rows:
            pv = pd.DataFrame.from_dict(rows, orient="index")
            for column in PV_COLUMNS + SITE_COLUMNS:
                table[column] = pv[column].reindex(range(len(table))).to_numpy()
        report = DistrictReport(table, self.report.outside, self.report.buildings_outside, assumptions)
        return Assessment(report, self.grid, self.centroids)


def _centroids(districts: gpd.GeoDataFrame) -> np.ndarray:
    """(n, 2) lat, lon of district centroids taken in an equal-area CRS (as ``aggregate_districts`` does)."""
    points = districts.geometry.to_crs(equal_area(districts)).centroid.to_crs(4326)
    return np.column_stack([points.y.to_numpy(), points.x.to_numpy()])


def prepare_assessment(footprints: gpd.GeoDataFrame, extents: gpd.GeoDataFrame,
                       districts: gpd.GeoDataFrame | str | os.PathLike[str] | None,
                       assumptions: PVAssumptions | None = None, cell_m: float = 100.0) -> Assessment:
    """The slow part: district join, imaged areas, density grid (``cell_m`` m cells), PV at ``assumptions``.

    ``districts`` as for ``aggregate_districts`` (``"beijing"``, a file, a GeoDataFrame), or None
    for the density grid alone.
    """
    grid = density_grid(footprints, extents, cell_m=cell_m)
    if districts is None:
        return Assessment(None, grid, np.zeros((0, 2)))
    report = aggregate_districts(districts, footprints, extents, assumptions)
    return Assessment(report, grid, _centroids(report.table))


def assess_project(footprints_gdf: gpd.GeoDataFrame, extents: gpd.GeoDataFrame,
                   districts: gpd.GeoDataFrame | str | os.PathLike[str] | None,
                   assumptions: PVAssumptions | None = None, cell_m: float = 100.0) -> Assessment:
    """District table and density grid in one call (see :func:`prepare_assessment`)."""
    return prepare_assessment(footprints_gdf, extents, districts, assumptions, cell_m)
