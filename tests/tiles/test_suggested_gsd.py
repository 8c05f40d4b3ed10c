"""The working GSD suggested for imagery: the model's own unless the imagery is more than 1.5x coarser."""

from __future__ import annotations

import pytest

from pgssl_core.tiles.gsd import GsdError, suggested_working_gsd


@pytest.mark.parametrize(("sources", "expected"), [
    ([1.0], 0.7),               # 1 m satellite imagery: 0.7 m, not blown up 3.3x to 0.3 m
    ([1.0, 1.0, 0.3], 0.7),     # the median decides
    ([0.8], 0.55),              # rounded up to a multiple of 5 cm
    ([0.54], 0.4),
    ([0.45], 0.3),              # 1.5x exactly: the model's own
    ([0.4], 0.3),               # the Beijing demo's imagery
    ([0.28, 0.14, 0.07], 0.3),  # drone imagery finer than the model's GSD is read at it
    ([], 0.3),
])
def test_suggestion_follows_coarse_imagery_only(sources: list[float], expected: float) -> None:
    assert suggested_working_gsd(sources) == expected


def test_a_model_trained_coarser_keeps_its_own_gsd() -> None:
    assert suggested_working_gsd([1.0], model_gsd_m=0.7) == 0.7


def test_a_gsd_in_degrees_is_refused() -> None:
    with pytest.raises(GsdError):
        suggested_working_gsd([0.000009])
