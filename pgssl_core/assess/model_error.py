"""The model's measured error on roof area, and district figures corrected for it.

Method (stated in the app and in docs/figures.md, with its limits):

- On each validation tile, the run's model predicts a building mask (the map's inference path:
  ``predict_tile``, threshold 0.5) and the building pixels are counted against the tile's mask: TP,
  FP, FN per tile (:func:`pgssl_core.project.measure_model.tile_confusions`; this module only does the
  arithmetic on the counts, so it needs neither torch nor a model).
- Pooled over the tiles, precision P = TP / (TP + FP) and recall R = TP / (TP + FN). The point
  correction of a predicted area A is ``A x P / R``. Since P / R = (TP + FN) / (TP + FP), the factor
  is the true building area of the validation tiles over the predicted one: the model's area bias.
- Interval: a bootstrap over validation tiles (tiles drawn with replacement, the factor recomputed
  from the pooled counts of each draw; 2,000 draws) gives the standard error of log(factor); the
  95% interval is log(factor) +/- t(n-1) x SE x sqrt(n / (n-1)), back-transformed (see
  :func:`bootstrap_interval`). Tiles that disagree widen it; a handful of tiles gives a wide
  interval, as it should (a plain percentile bootstrap of 4 tiles is far too narrow).
- With no validation figures the correction is "model error unknown": the corrected columns hold
  the raw area with NaN interval columns and the status says so, never a silent zero width. With
  one validation tile the factor is known but its spread is not: the interval is NaN too.

Limits: the validation tiles may not represent every district (another land use, roof type or
imagery date), and one factor is applied everywhere. The interval covers the sampling of
validation tiles, not that mismatch.

Combination with the PV assumption ranges: a district's PV central value is the PV model at the
corrected area; its low (high) value is the PV model's low (high) at the corrected interval's low
(high) end. The chain is linear in area, so these are the assumption ranges scaled by the
correction factors.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgssl_core.assess.pv import PVResult
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json, json_safe

BOOTSTRAP_DRAWS = 2000
LEVEL = 0.95
UNKNOWN = "model error unknown"
FORMAT = "pgssl-model-error/1"
PV_FIELDS = [f for f in PVResult.__dataclass_fields__ if f != "usable_roof_m2"]  # capacity, generation, CO2


@dataclass(frozen=True)
class TileConfusion:
    """Building-class pixel counts of one validation tile (valid pixels only)."""

    tile: str
    tp: int
    fp: int
    fn: int

    @property
    def reference_px(self) -> int:
        """Building pixels in the tile's mask (TP + FN)."""
        return self.tp + self.fn

    @property
    def predicted_px(self) -> int:
        """Building pixels the model predicted (TP + FP)."""
        return self.tp + self.fp


@dataclass(frozen=True)
class AreaCorrection:
    """Area-bias factor of a model with its bootstrap interval (see the module doc).

    ``factor`` = P / R (1.0 and ``known`` False without validation); ``factor_low``/``factor_high``
    NaN when the spread is not measurable (fewer than two tiles). ``per_tile``: P, R and factor of
    each tile (NaN where a tile has no predicted or no reference building pixel).
    """

    tiles: int
    precision: float
    recall: float
    factor: float
    factor_low: float
    factor_high: float
    known: bool
    level: float = LEVEL
    draws: int = BOOTSTRAP_DRAWS
    source: str = ""
    per_tile: tuple[dict[str, Any], ...] = ()

    @property
    def status(self) -> str:
        """One line for tables: how the model error was measured, or that it is unknown."""
        if not self.known:
            return UNKNOWN
        if self.tiles == 0:  # exact areas (reference masks): the source says why
            return self.source
        if not math.isfinite(self.factor_low):
            return f"factor from {self.tiles} validation tile; spread unknown (needs 2 or more)"
        return (f"measured on {self.tiles} validation tiles: precision {self.precision:.2f}, recall "
                f"{self.recall:.2f}, {self.level:.0%} bootstrap interval")

    def to_dict(self) -> dict[str, Any]:
        """The correction as a JSON-ready dict, tagged with ``format`` (:data:`FORMAT`)."""
        return {"format": FORMAT, **asdict(self)}


def unknown_correction(source: str = "no validation tiles") -> AreaCorrection:
    """The correction when nothing was held out: factor 1, interval NaN, status "model error unknown"."""
    nan = float("nan")
    return AreaCorrection(0, nan, nan, 1.0, nan, nan, False, source=source)


def exact_correction(source: str) -> AreaCorrection:
    """No model error by construction (areas from reference masks): factor 1 with a zero-width interval,
    status ``source`` (which should say why)."""
    return AreaCorrection(0, 1.0, 1.0, 1.0, 1.0, 1.0, True, source=source)


def pooled_iou(counts: np.ndarray) -> np.ndarray:
    """Pooled IoU of (..., 3) summed TP, FP, FN counts (1.0 where there is nothing to find or claim)."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    den = tp + fp + fn
    return np.where(den > 0, tp / np.maximum(den, 1), 1.0)


def bootstrap_interval(point: float, boot: np.ndarray, n: int, level: float = LEVEL,
                       log: bool = False) -> tuple[float, float]:
    """Interval around ``point`` from bootstrap draws ``boot`` (1-D) over ``n`` resampled units (tiles).

    ``point +/- t(n-1, level) x SE x sqrt(n / (n-1))`` with SE the standard deviation of the draws:
    the bootstrap SE of a statistic of n units is biased low by sqrt((n-1)/n) and the t quantile
    accounts for estimating the spread from n units (Efron & Tibshirani 1993, An Introduction to the
    Bootstrap, ch. 5 and 12). ``log=True`` (positive ratios) works on log scale and back-transforms, so
    the interval stays positive and is asymmetric. NaN, NaN when ``n < 2`` or no finite draw.
    """
    from scipy.stats import t as student_t

    values = np.log(boot[boot > 0]) if log else boot[np.isfinite(boot)]
    if n < 2 or values.size < 2 or (log and point <= 0):
        return float("nan"), float("nan")
    centre = math.log(point) if log else point
    half = float(student_t.ppf((1 + level) / 2, n - 1)) * float(values.std(ddof=1)) * math.sqrt(n / (n - 1))
    low, high = centre - half, centre + half
    return (math.exp(low), math.exp(high)) if log else (low, high)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def area_correction(tiles: Sequence[TileConfusion], draws: int = BOOTSTRAP_DRAWS, level: float = LEVEL,
                    seed: int = 0, source: str = "") -> AreaCorrection:
    """Pooled P, R and the factor P / R of ``tiles`` with a percentile bootstrap interval over tiles.

    Returns :func:`unknown_correction` when there is no tile, or when the tiles hold no predicted or
    no reference building pixel (P / R undefined).
    """
    if not tiles:
        return unknown_correction(source or "no validation tiles")
    counts = np.array([[t.tp, t.fp, t.fn] for t in tiles], dtype=float)
    tp, fp, fn = counts.sum(axis=0)
    if tp + fp == 0 or tp + fn == 0:
        return unknown_correction(f"{len(tiles)} validation tiles without predicted or reference buildings")
    factor = (tp + fn) / (tp + fp)
    low = high = float("nan")
    if len(tiles) >= 2:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(tiles), size=(draws, len(tiles)))
        sums = counts[picks].sum(axis=1)  # (draws, 3)
        predicted, reference = sums[:, 0] + sums[:, 1], sums[:, 0] + sums[:, 2]
        ok = predicted > 0  # a draw of only empty-prediction tiles has no factor
        low, high = bootstrap_interval(float(factor), reference[ok] / predicted[ok], len(tiles), level, log=True)
    per_tile = tuple({"tile": t.tile, "precision": _ratio(t.tp, t.predicted_px), "recall": _ratio(t.tp, t.reference_px),
                      "factor": _ratio(t.reference_px, t.predicted_px)} for t in tiles)
    return AreaCorrection(len(tiles), tp / (tp + fp), tp / (tp + fn), float(factor), low, high, True, level, draws,
                          source, per_tile)


def corrected_district_table(table: pd.DataFrame, correction: AreaCorrection) -> pd.DataFrame:
    """``table`` (a district table with ``footprint_m2`` and PV columns) plus the corrected columns.

    Added: ``footprint_m2_corrected`` (+ ``_low``/``_high``), ``<pv>_corrected`` (+ ``_low``/``_high``)
    for capacity, generation and CO2, and ``model_error`` (the status line). Unknown error: the
    corrected value is the raw one and the interval columns are NaN. Districts without imagery stay NaN.
    """
    out = table.copy()
    raw = out["footprint_m2"].astype(float) if "footprint_m2" in out else pd.Series(np.nan, index=out.index)
    f, lo, hi = correction.factor, correction.factor_low, correction.factor_high
    out["footprint_m2_corrected"] = raw * f
    out["footprint_m2_corrected_low"] = raw * lo
    out["footprint_m2_corrected_high"] = raw * hi
    for name in PV_FIELDS:
        if name not in out:
            continue
        # PV is linear in area: scale the assumption range's ends by the interval's ends.
        out[f"{name}_corrected"] = out[name].astype(float) * f
        out[f"{name}_corrected_low"] = out[f"{name}_low"].astype(float) * lo
        out[f"{name}_corrected_high"] = out[f"{name}_high"].astype(float) * hi
    out["model_error"] = correction.status
    return out


def save_correction(path: str | os.PathLike[str], correction: AreaCorrection,
                    tiles: Sequence[TileConfusion] = ()) -> Path:
    """Write the correction (and the per-tile counts it came from) as JSON, atomically."""
    # strict JSON: NaN (unknown figures) -> null
    atomic_write_json(Path(path), json_safe({**correction.to_dict(), "counts": [asdict(t) for t in tiles]}))
    return Path(path)


def _read_correction_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[TileConfusion]]:
    """(the file's fields, its per-tile counts) of a file written by :func:`save_correction`, or PgsslError."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PgsslError(f"cannot read model-error file {p.name}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PgsslError(f"{p.name} is not a model-error file (written by `report` or save_correction)")
    tiles = [TileConfusion(str(c["tile"]), int(c["tp"]), int(c["fp"]), int(c["fn"])) for c in data.get("counts", [])]
    return data, tiles


def load_counts(path: str | os.PathLike[str]) -> tuple[str, list[TileConfusion]]:
    """(source, per-tile counts) of a file written by :func:`save_correction`, or raise PgsslError."""
    data, tiles = _read_correction_file(path)
    return str(data.get("source", "")), tiles


def load_correction(path: str | os.PathLike[str]) -> AreaCorrection:
    """Read a file written by :func:`save_correction` (its per-tile counts, recomputed with this code's
    bootstrap), or raise PgsslError."""
    data, tiles = _read_correction_file(path)
    return area_correction(tiles, int(data.get("draws", BOOTSTRAP_DRAWS)), float(data.get("level", LEVEL)),
                           source=str(data.get("source", "")))
