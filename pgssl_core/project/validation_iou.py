"""A run's validation IoU with an interval: the model's IoU on each validation tile, and a 95%
interval of the pooled IoU over the tiles.

The Train page's validation IoU is pooled over the pixels of every validation tile. A few tiles
give a figure that the next few tiles could move a lot (one held-out tile can give 0.864 where the
true masks give 0.12). The interval says how much: tiles are resampled with replacement (2,000
bootstrap draws, a fixed seed) and the pooled IoU of each draw gives the spread, turned into an
interval with Student-t quantiles (:func:`pgssl_core.assess.model_error.bootstrap_interval`, as for
the "did pretraining help?" comparison). With one tile there is no interval. It covers the choice of
validation tiles, not a mismatch between them and the rest of the city.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pgssl_core.errors import PgsslError

if TYPE_CHECKING:  # the Train page imports this module: geopandas and pvlib only when figures are computed
    from pgssl_core.assess.model_error import TileConfusion

DRAWS = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class ValidationIoU:
    """Pooled building IoU ``iou`` of a model on ``tiles`` (per-tile counts) and its ``level`` interval
    ``low``..``high`` (NaN with fewer than two tiles), clipped to [0, 1]."""

    iou: float
    low: float
    high: float
    tiles: tuple[TileConfusion, ...]
    level: float = LEVEL

    @property
    def has_interval(self) -> bool:
        """True when both interval ends are finite numbers."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def line(self) -> str:
        """E.g. "IoU 0.86 (95% interval 0.41 to 1.00 over 3 validation tiles)"."""
        n = len(self.tiles)
        over = f"{n} validation tile{'s' if n != 1 else ''}"
        if not self.has_interval:
            return f"IoU {self.iou:.2f} on {over}: no interval from one tile"
        return f"IoU {self.iou:.2f} ({self.level:.0%} interval {self.low:.2f} to {self.high:.2f} over {over})"

    def tile_rows(self) -> list[dict[str, Any]]:
        """One row per tile: ``tile``, ``iou`` (None where the tile has no building and none was
        predicted), ``building_px`` (labelled building pixels), ``predicted_px``."""
        rows = []
        for t in self.tiles:
            den = t.tp + t.fp + t.fn
            rows.append({"tile": t.tile, "iou": t.tp / den if den else None, "building_px": t.reference_px,
                         "predicted_px": t.predicted_px})
        return rows


def validation_iou(tiles: Sequence[TileConfusion], draws: int = DRAWS, level: float = LEVEL,
                   seed: int = 0) -> ValidationIoU:
    """:class:`ValidationIoU` of per-tile counts (see the module doc). PgsslError when there is no tile."""
    from pgssl_core.assess.model_error import bootstrap_interval, pooled_iou

    if not tiles:
        raise PgsslError("no validation tiles: hold out labelled tiles (or add reference masks) to measure the model")
    counts = np.array([[t.tp, t.fp, t.fn] for t in tiles], dtype=float)
    iou = float(pooled_iou(counts.sum(axis=0)))
    low = high = float("nan")
    if len(counts) >= 2:
        picks = np.random.default_rng(seed).integers(0, len(counts), size=(draws, len(counts)))
        low, high = bootstrap_interval(iou, pooled_iou(counts[picks].sum(axis=1)), len(counts), level)
        low, high = max(low, 0.0), min(high, 1.0)
    return ValidationIoU(iou, low, high, tuple(tiles), level)
