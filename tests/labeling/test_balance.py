"""Label-balance warning of the Label page and the building-edge test of the data plan (issue 21)."""

from __future__ import annotations

import numpy as np

from pgssl_core.labeling.balance import EDGE_PX, MIN_MINORITY_SHARE, balance_warning, shows_building_edge


def _mask(building: int, background: int, size: int = 100) -> np.ndarray:
    """``building`` and ``background`` pixels painted on a ``size`` x ``size`` tile, the rest unlabelled."""
    flat = np.full(size * size, 255, np.uint8)
    flat[:building] = 1
    flat[building:building + background] = 0
    return flat.reshape(size, size)


def test_nearly_all_building_warns_with_the_fix() -> None:
    message = balance_warning(_mask(970, 30))  # 3% background, under the 5% threshold
    assert message is not None and "97% building" in message
    assert "background strokes" in message and "Rest is background" in message


def test_balanced_or_empty_labels_do_not_warn() -> None:
    assert balance_warning(_mask(900, 100)) is None  # 10% background
    assert balance_warning(np.full((8, 8), 255, np.uint8)) is None  # nothing painted yet
    share = MIN_MINORITY_SHARE
    assert balance_warning(_mask(round(1000 * (1 - share)), round(1000 * share))) is None  # exactly at the limit


def test_background_only_warns_unless_the_tile_is_complete() -> None:
    assert "background" in balance_warning(_mask(0, 500))
    assert balance_warning(_mask(0, 500), complete=True) is None  # a finished tile without buildings is fine
    # building strokes only, then "Rest is background": the unpainted rest is background, no warning
    assert balance_warning(_mask(500, 0)) is not None and balance_warning(_mask(500, 0), complete=True) is None


def test_building_edge_needs_background_within_edge_px() -> None:
    mask = np.full((64, 64), 255, np.uint8)
    mask[:, :10] = 1
    mask[:, 9 + EDGE_PX:] = 0  # first background pixel EDGE_PX px from the building's last column (9)
    assert shows_building_edge(mask)
    mask[:, 9 + EDGE_PX] = 255  # now EDGE_PX + 1 px away
    assert not shows_building_edge(mask)
    assert not shows_building_edge(np.ones((8, 8), np.uint8))  # no background at all
