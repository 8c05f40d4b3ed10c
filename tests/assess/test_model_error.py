"""Model-error correction of roof area: hand arithmetic, interval width, unknown error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pgssl_core.assess.model_error import (
    UNKNOWN,
    TileConfusion,
    area_correction,
    bootstrap_interval,
    corrected_district_table,
    load_correction,
    save_correction,
)

# A constructed validation set: tile a over-predicts, tile b is balanced.
TILES = [TileConfusion("a", tp=80, fp=20, fn=40), TileConfusion("b", tp=50, fp=10, fn=10)]


def _district_table() -> pd.DataFrame:
    return pd.DataFrame({"district": ["A", "B", "C"], "footprint_m2": [1000.0, 400.0, np.nan],
                         "capacity_mwp": [0.1, 0.04, np.nan], "capacity_mwp_low": [0.05, 0.02, np.nan],
                         "capacity_mwp_high": [0.15, 0.06, np.nan]})


def test_corrected_area_equals_hand_computed_value():
    c = area_correction(TILES)
    # pooled: TP 130, FP 30, FN 50 -> P = 130/160, R = 130/180, P/R = 180/160 = 1.125
    assert c.precision == pytest.approx(130 / 160) and c.recall == pytest.approx(130 / 180)
    assert c.factor == pytest.approx((130 / 160) / (130 / 180)) and c.factor == pytest.approx(1.125)
    out = corrected_district_table(_district_table(), c).set_index("district")
    assert out.loc["A", "footprint_m2_corrected"] == pytest.approx(1125.0)
    assert out.loc["B", "footprint_m2_corrected"] == pytest.approx(450.0)
    assert out.loc["A", "footprint_m2_corrected_low"] < 1125.0 < out.loc["A", "footprint_m2_corrected_high"]
    # PV: central scaled by the factor, low/high = assumption ends x interval ends
    assert out.loc["A", "capacity_mwp_corrected"] == pytest.approx(0.1125)
    assert out.loc["A", "capacity_mwp_corrected_low"] == pytest.approx(0.05 * c.factor_low)
    assert out.loc["A", "capacity_mwp_corrected_high"] == pytest.approx(0.15 * c.factor_high)
    assert math.isnan(out.loc["C", "footprint_m2_corrected"])  # no imagery stays unknown
    assert out.loc["A", "model_error"].startswith("measured on 2 validation tiles")
    assert [t["tile"] for t in c.per_tile] == ["a", "b"] and c.per_tile[0]["factor"] == pytest.approx(120 / 100)


def test_interval_widens_when_tiles_disagree():
    # same pooled counts (factor 1.0), but per tile factors 1.0 everywhere vs 0.5 / 2.0
    agree = [TileConfusion(str(i), 90, 10, 10) for i in range(6)]
    disagree = [TileConfusion(str(i), *((45, 55, 5) if i % 2 else (45, 5, 55))) for i in range(6)]
    a, d = area_correction(agree), area_correction(disagree)
    assert a.factor == pytest.approx(1.0) and d.factor == pytest.approx(1.0)
    assert a.factor_high - a.factor_low == pytest.approx(0.0)
    assert d.factor_high - d.factor_low > 0.5
    assert d.factor_low < 1.0 < d.factor_high


def test_no_validation_is_marked_unknown_never_zero_width():
    c = area_correction([])
    assert not c.known and c.status == UNKNOWN
    out = corrected_district_table(_district_table(), c).set_index("district")
    assert out.loc["A", "footprint_m2_corrected"] == 1000.0
    assert math.isnan(out.loc["A", "footprint_m2_corrected_low"])
    assert math.isnan(out.loc["A", "capacity_mwp_corrected_high"])
    assert (out["model_error"] == UNKNOWN).all()


def test_one_tile_has_a_factor_but_no_interval():
    c = area_correction(TILES[:1])
    assert c.known and c.factor == pytest.approx(1.2)
    assert math.isnan(c.factor_low) and "spread unknown" in c.status


def test_save_and_load_round_trip(tmp_path):
    c = area_correction(TILES, source="run r1")
    path = save_correction(tmp_path / "model_error.json", c, TILES)
    assert "NaN" not in path.read_text()
    back = load_correction(path)
    assert back.factor == c.factor and back.factor_low == c.factor_low and back.source == "run r1"


def test_small_sample_interval_uses_t_quantiles():
    boot = np.random.default_rng(0).normal(1.0, 0.1, 2000)
    low, high = bootstrap_interval(1.0, boot, 4)
    p_low, p_high = np.quantile(boot, [0.025, 0.975])
    assert high - low > 1.5 * (p_high - p_low)  # t(3) x sqrt(4/3) = 3.67 against 1.96: four tiles say little
    assert high - low == pytest.approx(2 * 3.1824 * boot.std(ddof=1) * (4 / 3) ** 0.5, rel=1e-3)
    wide_low, wide_high = bootstrap_interval(0.5, np.abs(np.random.default_rng(1).normal(0.5, 0.4, 2000)), 3,
                                             log=True)
    assert 0 < wide_low < 0.5 < wide_high  # log scale: a ratio's interval stays positive
    assert all(math.isnan(v) for v in bootstrap_interval(1.0, boot, 1))
