"""A run's validation IoU with its interval over the validation tiles, and per-tile figures."""

import math

import pytest

from pgssl_core.assess.model_error import TileConfusion
from pgssl_core.errors import PgsslError
from pgssl_core.project.validation_iou import validation_iou


def test_one_tile_gives_the_figure_and_says_there_is_no_interval() -> None:
    v = validation_iou([TileConfusion("a", tp=80, fp=10, fn=10)])
    assert v.iou == pytest.approx(0.8) and not v.has_interval and math.isnan(v.low)
    assert "no interval from one tile" in v.line()
    assert v.tile_rows() == [{"tile": "a", "iou": pytest.approx(0.8), "building_px": 90, "predicted_px": 90}]


def test_disagreeing_tiles_give_a_wide_interval_and_agreeing_ones_a_narrow_one() -> None:
    agree = validation_iou([TileConfusion(str(i), 80 + i, 10, 10) for i in range(6)])
    disagree = validation_iou([TileConfusion(str(i), tp, 100 - tp, 0) for i, tp in enumerate((95, 10, 90, 5, 85, 50))])
    assert agree.has_interval and disagree.has_interval
    assert agree.low <= agree.iou <= agree.high and disagree.low <= disagree.iou <= disagree.high
    assert (agree.high - agree.low) < 0.05 < (disagree.high - disagree.low)
    assert 0.0 <= disagree.low and disagree.high <= 1.0  # clipped to the range of an IoU
    assert "95% interval" in disagree.line() and "over 6 validation tiles" in disagree.line()


def test_pooled_not_averaged_and_empty_tiles_have_no_tile_iou() -> None:
    v = validation_iou([TileConfusion("big", 900, 50, 50), TileConfusion("empty", 0, 0, 0)])
    assert v.iou == pytest.approx(0.9)  # pooled over pixels: the empty tile adds nothing
    assert v.tile_rows()[1]["iou"] is None
    with pytest.raises(PgsslError, match="no validation tiles"):
        validation_iou([])
