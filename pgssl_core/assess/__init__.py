"""Assessment: footprints, density grid, district statistics and rooftop-PV potential."""

from pgssl_core.assess.boundaries import load_boundaries
from pgssl_core.assess.density import density_grid
from pgssl_core.assess.districts import DistrictReport, aggregate_districts, write_district_csv
from pgssl_core.assess.footprints import (
    clean_footprints,
    footprints_from_mask,
    polygons_from_mask,
)
from pgssl_core.assess.imaged import imaged_extent
from pgssl_core.assess.inputs import footprints_and_extents, list_rasters
from pgssl_core.assess.pv import Assumption, Estimate, PVAssumptions, PVResult, annual_poa_kwh_m2, pv_potential
from pgssl_core.assess.vector_io import write_vector

__all__ = [
    "Assumption", "DistrictReport", "Estimate", "PVAssumptions", "PVResult", "aggregate_districts",
    "annual_poa_kwh_m2", "clean_footprints", "density_grid", "footprints_and_extents", "footprints_from_mask",
    "imaged_extent", "list_rasters", "load_boundaries",
    "polygons_from_mask", "pv_potential", "write_district_csv", "write_vector",
]
