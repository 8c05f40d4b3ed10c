"""District table + density grid: geometry computed once, PV redone per slider move."""

from __future__ import annotations

import numpy as np
import pytest

from pgssl_core.assess import PVAssumptions
from pgssl_core.project.assessment import prepare_assessment
from pgssl_core.project.predict import read_layers, reference_footprints


@pytest.fixture
def layers(small_project, tmp_path):
    return read_layers(reference_footprints(small_project, tmp_path / "ref"))


@pytest.fixture
def assessment(layers):
    footprints, extents = layers
    return prepare_assessment(footprints, extents, "beijing", PVAssumptions(), cell_m=50.0)


def imaged(table):
    return table[table["status"] != "no imagery"]


def test_table_has_16_districts_and_the_buildings(assessment) -> None:
    table = assessment.table
    assert len(table) == 16
    assert imaged(table)["building_count"].sum() + assessment.report.buildings_outside == 4
    assert (table["status"] == "no imagery").sum() >= 14  # three 32 m tiles touch at most two districts
    assert table.loc[table["status"] == "no imagery", "capacity_mwp"].isna().all()
    np.testing.assert_allclose(imaged(table)["footprint_m2"].sum(), 200.0, rtol=0.02)
    grid = assessment.grid
    assert len(grid) > 0 and grid["coverage"].between(0, 1).all()
    np.testing.assert_allclose(grid["building_m2"].sum(), 200.0, rtol=0.02)


def test_slider_recompute_changes_pv_but_not_areas(assessment) -> None:
    base = imaged(assessment.table)
    more_roof = imaged(assessment.with_assumptions(PVAssumptions().with_values(usable_roof_share=0.6)).table)
    for column in ("footprint_m2", "coverage", "imaged_km2", "building_count"):
        np.testing.assert_array_equal(more_roof[column].to_numpy(), base[column].to_numpy())
    np.testing.assert_allclose(more_roof["capacity_mwp"] / base["capacity_mwp"], 0.6 / 0.5)
    steeper = imaged(assessment.with_assumptions(PVAssumptions().with_values(tilt_deg=55.0)).table)
    np.testing.assert_allclose(steeper["capacity_mwp"], base["capacity_mwp"])  # capacity is rated at STC
    assert (steeper["generation_gwh"] < base["generation_gwh"]).all()  # 55 deg is past the optimum near 40 N


def test_recompute_equals_a_fresh_assessment(layers, assessment) -> None:
    footprints, extents = layers
    changed = PVAssumptions().with_values(module_efficiency=0.22, system_losses=0.2, annual_ghi_kwh_m2=1500.0)
    fast = assessment.with_assumptions(changed).table
    fresh = prepare_assessment(footprints, extents, "beijing", changed, cell_m=50.0).table
    for column in ("capacity_mwp", "generation_gwh_low", "generation_gwh", "co2_t_high"):
        np.testing.assert_allclose(fast[column].to_numpy(dtype=float), fresh[column].to_numpy(dtype=float),
                                   equal_nan=True)


def test_without_districts_only_the_grid_is_computed(layers) -> None:
    footprints, extents = layers
    alone = prepare_assessment(footprints, extents, None, cell_m=50.0)
    assert alone.report is None and len(alone.table) == 0
    assert alone.with_assumptions(PVAssumptions().with_values(tilt_deg=10.0)) is alone
    np.testing.assert_allclose(alone.grid["building_m2"].sum(), 200.0, rtol=0.02)
