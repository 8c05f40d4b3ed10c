"""Pseudo-label quality on the labelled tiles: precision and recall, and the under-calling warning."""

from __future__ import annotations

import math

import torch

from pgssl_core.train.pseudo_labelling import pseudo_label_line, pseudo_label_quality


def test_recall_counts_unsure_pixels_as_missed_roofs() -> None:
    mask = torch.zeros(4, 4, dtype=torch.uint8)
    mask[:2] = 1  # 8 roof pixels
    lab = torch.full((4, 4), 255, dtype=torch.uint8)
    lab[0] = 1  # 4 confident roof pixels, the rest unsure
    lab[3] = 0
    q = pseudo_label_quality([lab, lab], [mask, None])  # the second tile has no label: not scored
    assert q["pl_tiles"] == 1
    assert q["pl_precision"] == 1.0 and q["pl_recall"] == 0.5


def test_no_labelled_tile_gives_nan_not_zero() -> None:
    q = pseudo_label_quality([torch.zeros(2, 2, dtype=torch.uint8)], [None])
    assert math.isnan(q["pl_recall"]) and q["pl_tiles"] == 0


def test_line_warns_only_when_recall_collapses() -> None:
    base = {"building_share": 0.1, "ignored_share": 0.2}
    assert "warning" in pseudo_label_line(1, {**base, "pl_precision": 0.8, "pl_recall": 0.27})
    assert "warning" not in pseudo_label_line(1, {**base, "pl_precision": 0.8, "pl_recall": 0.7})
    assert "warning" not in pseudo_label_line(1, {**base, "pl_precision": float("nan"), "pl_recall": float("nan")})
