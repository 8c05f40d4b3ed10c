"""Project assessment split into a slow geometry part (done once) and fast PV arithmetic (per slider move).

``prepare_assessment`` does every spatial operation: the district join of the footprints, the
imaged area per district and the density grid; it also warms pvlib's clear-sky cache at each
district centroid. ``Assessment.with_assumptions`` then only reruns ``pv_potential`` per imaged
district (a few ms each once the clear-sky year of that place is cached), so a new set of PV
assumptions is answered well within a second.

One site per project: the PV defaults that follow the place (tilt, azimuth, irradiation, grid
emission factor) are resolved once, at the centre of the imaged area (``assess.imaged.site_of``), and
every district, building and report uses those same values, so what a slider or the report shows is
what the figures use. Where no district boundary covers the tiles, ``prepare_place_assessment``
reports the imaged area itself as one row (:data:`~pgssl_core.assess.imaged.IMAGED_AREA`), as the Map
page does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from pgssl_core.assess.density import density_grid
from pgssl_core.assess.districts import STATUS_PARTLY, DistrictReport, aggregate_districts, district_pv_columns
from pgssl_core.assess.imaged import imaged_area, site_of
from pgssl_core.assess.metric_crs import equal_area
from pgssl_core.assess.pv import PVAssumptions, PVResult
from pgssl_core.errors import PgsslError

#: PV columns that depend on the assumptions (central, low and high of each ``PVResult`` field).
PV_COLUMNS = [f"{name}{suffix}" for name in PVResult.__dataclass_fields__ for suffix in ("", "_low", "_high")]
#: Columns saying which tilt, azimuth and irradiation the PV figures rest on (``pv.site_columns``).
SITE_COLUMNS = ["pv_tilt_deg", "pv_azimuth_deg", "pv_annual_ghi_kwh_m2", "pv_emission_factor_t_mwh", "pv_basis"]


@dataclass
class Assessment:
    """District table and density grid of one set of footprints.

    ``report.table``: one row per district, WGS84 geometry (see ``aggregate_districts``), PV
    columns NaN where a district has no imagery; ``report`` is None when no districts were given.
    ``grid``: density cells (``coverage`` 0..1, ``lon``/``lat`` of cell centres). ``centroids``:
    (n_districts, 2) lat, lon in degrees, used for the PV model. ``site``: (lat, lon) in degrees where
    the site-following PV defaults are resolved (None: no geometry; each district's centroid then).
    """

    report: DistrictReport | None
    grid: gpd.GeoDataFrame
    centroids: np.ndarray
    site: tuple[float, float] | None = None

    def resolve(self, assumptions: PVAssumptions | None = None) -> PVAssumptions:
        """``assumptions`` (default ``PVAssumptions()``) with the site-following values made concrete at
        :attr:`site`: the values every PV figure of this assessment uses (for sliders and reports)."""
        a = assumptions or PVAssumptions()
        return a.for_site(*self.site) if self.site is not None else a

    @property
    def table(self) -> gpd.GeoDataFrame:
        """The district table (empty, with ``district`` and ``status`` columns, without districts)."""
        if self.report is None:
            return gpd.GeoDataFrame({"district": [], "status": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        return self.report.table

    def with_assumptions(self, assumptions: PVAssumptions) -> Assessment:
        """The same geometry with PV columns recomputed for ``assumptions`` resolved at the site (areas
        unchanged)."""
        if self.report is None:
            return self
        assumptions = self.resolve(assumptions)
        table = self.report.table.copy()
        known = table["footprint_m2"].notna().to_numpy() if "footprint_m2" in table else np.zeros(len(table), bool)
        rows = {i: district_pv_columns(float(table["footprint_m2"].iloc[i]), float(self.centroids[i, 0]),
                                       float(self.centroids[i, 1]), assumptions)
                for i in np.flatnonzero(known)}
        if rows:
            pv = pd.DataFrame.from_dict(rows, orient="index")
            for column in PV_COLUMNS + SITE_COLUMNS:
                table[column] = pv[column].reindex(range(len(table))).to_numpy()
        report = DistrictReport(table, self.report.outside, self.report.buildings_outside, assumptions)
        return Assessment(report, self.grid, self.centroids, self.site)


def _centroids(districts: gpd.GeoDataFrame) -> np.ndarray:
    """(n, 2) lat, lon of district centroids taken in an equal-area CRS (as ``aggregate_districts`` does)."""
    points = districts.geometry.to_crs(equal_area(districts)).centroid.to_crs(4326)
    return np.column_stack([points.y.to_numpy(), points.x.to_numpy()])


def prepare_assessment(footprints: gpd.GeoDataFrame, extents: gpd.GeoDataFrame,
                       districts: gpd.GeoDataFrame | str | os.PathLike[str] | None,
                       assumptions: PVAssumptions | None = None, cell_m: float = 100.0) -> Assessment:
    """The slow part: district join, imaged areas, density grid (``cell_m`` m cells), PV at ``assumptions``
    resolved at the site (the imaged area's centre, else the buildings').

    ``districts`` as for ``aggregate_districts`` (``"beijing"``, a file, a GeoDataFrame), or None
    for the density grid alone. Raises PgsslError as ``aggregate_districts`` does (e.g. no tile in
    any district).
    """
    grid = density_grid(footprints, extents, cell_m=cell_m)
    site = site_of(extents) if extents is not None and len(extents) else site_of(footprints)
    if districts is None:
        return Assessment(None, grid, np.zeros((0, 2)), site)
    resolved = Assessment(None, grid, np.zeros((0, 2)), site).resolve(assumptions)
    report = aggregate_districts(districts, footprints, extents, resolved)
    return Assessment(report, grid, _centroids(report.table), site)


def prepare_place_assessment(footprints: gpd.GeoDataFrame, extents: gpd.GeoDataFrame,
                             districts: gpd.GeoDataFrame | str | os.PathLike[str],
                             boundaries_label: str = "the district boundaries",
                             assumptions: PVAssumptions | None = None,
                             cell_m: float = 100.0) -> tuple[Assessment, str | None]:
    """:func:`prepare_assessment` for any place: ``(assessment, note)``.

    When ``districts`` do not cover the tiles (e.g. a city other than Beijing with the shipped
    boundaries), the imaged area itself is the one row of the table (``assess.imaged.imaged_area``),
    with its PV figures, and ``note`` (one line) says so, naming ``boundaries_label``; without imaged
    extents there is no table and ``note`` gives the reason. ``note`` is None when the districts are used.
    """
    try:
        return prepare_assessment(footprints, extents, districts, assumptions, cell_m), None
    except PgsslError as exc:
        if extents is None or not len(extents):
            return prepare_assessment(footprints, extents, None, assumptions, cell_m), f"no district statistics: {exc}"
    note = (f"{boundaries_label} do not cover these tiles, so the table shows the imaged area as one row. "
            "Upload your city's district boundaries on the Map page to split it by district.")
    return prepare_assessment(footprints, extents, imaged_area(extents), assumptions, cell_m), note


def imagery_note(table: pd.DataFrame, reference_demo: bool = False) -> str | None:
    """One line on how much imagery the district figures rest on, or None when no district is partly imaged.

    Args:
        table: a district table (``status``, ``imaged_km2``, ``district_km2``; see ``aggregate_districts``).
        reference_demo: the map shows the shipped demo's reference masks: say so.

    Returns:
        "These district figures cover X km² of imagery per district (median over N imaged districts, T km²
        in all, S% of their area) ...": X computed from the table (never a constant); None when every
        imaged district is fully imaged or none is imaged.
    """
    if "status" not in table or "imaged_km2" not in table:
        return None
    imaged = table[table["imaged_km2"].fillna(0) > 0]
    if not len(imaged) or not (imaged["status"] == STATUS_PARTLY).any():
        return None
    per, total = float(imaged["imaged_km2"].median()), float(imaged["imaged_km2"].sum())
    share = total / float(imaged["district_km2"].sum()) if "district_km2" in imaged else float("nan")
    text = (f"These district figures cover {per:.3f} km² of imagery per district (median over {len(imaged)} "
            f"imaged districts, {total:.3f} km² in all, {share:.2%} of their area): they describe the imaged "
            "patches, not whole districts.")
    if reference_demo:
        text += (" The map and the figures show the demo's reference masks (the buildings drawn with the "
                 "synthetic scene), not a model's prediction.")
    return text
