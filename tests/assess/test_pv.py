"""PV chain against hand arithmetic for one roof."""

from __future__ import annotations

import pytest

from pgssl_core.assess.pv import PVAssumptions, annual_poa_kwh_m2, pv_potential

LAT, LON = 39.9, 116.4  # central Beijing


def test_flat_plane_receives_the_configured_annual_ghi():
    # A horizontal plane sees exactly the horizontal irradiation the model was scaled to.
    assert annual_poa_kwh_m2(LAT, LON, 0.0, 180.0, 1450.0) == pytest.approx(1450.0, rel=2e-3)


def test_tilted_south_plane_gains_a_plausible_amount():
    flat = annual_poa_kwh_m2(LAT, LON, 0.0, 180.0, 1450.0)
    tilted = annual_poa_kwh_m2(LAT, LON, 30.0, 180.0, 1450.0)
    north = annual_poa_kwh_m2(LAT, LON, 30.0, 0.0, 1450.0)
    assert 1.03 * flat < tilted < 1.25 * flat  # south tilt gains at 40 N, but not absurdly
    assert north < flat


def test_one_roof_matches_hand_calculation():
    a = PVAssumptions().with_values(tilt_deg=0.0)
    r = pv_potential(100.0, LAT, LON, a)
    # 100 m2 roof, 50% usable, 20% efficient modules at 1 kW/m2: 10 kWp.
    assert r.usable_roof_m2.value == pytest.approx(50.0)
    assert r.capacity_mwp.value == pytest.approx(0.010)
    # 10 kWp x 1450 kWh/m2 x (1 - 0.14) x 0.96 = 11,971.2 kWh
    assert r.generation_gwh.value == pytest.approx(11_971.2e-6, rel=2e-3)
    # 11.9712 MWh x 0.5703 t/MWh = 6.8272 t
    assert r.co2_t.value == pytest.approx(6.8272, rel=2e-3)
    # Low case: 30% usable, 18% efficient (5.4 kWp), 1400 kWh/m2 flat, 20% losses, 95% inverter, 0.54 t/MWh.
    assert r.capacity_mwp.low == pytest.approx(0.0054)
    assert r.generation_gwh.low == pytest.approx(5.4 * 1400 * 0.80 * 0.95 * 1e-6, rel=2e-3)
    assert r.co2_t.low == pytest.approx(5.4 * 1400 * 0.80 * 0.95 / 1000 * 0.54, rel=2e-3)
    assert r.generation_gwh.low < r.generation_gwh.value < r.generation_gwh.high


def test_every_assumption_is_documented():
    table = PVAssumptions().table()
    assert {"annual_ghi_kwh_m2", "usable_roof_share", "module_efficiency", "system_losses", "tilt_deg",
            "emission_factor_t_mwh"} <= set(table["name"])
    assert (table["source"].str.len() > 10).all()
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()
    assert "ESTIMATE" in table.set_index("name").loc["annual_ghi_kwh_m2", "source"]
