"""The study's paired differences: same fraction and seed, only seeds both methods have."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import label_efficiency as study  # noqa: E402


def _row(method: str, fraction: float, seed: int, iou: float) -> dict[str, str]:
    return {"method": method, "fraction": str(fraction), "seed": str(seed), "test_iou": str(iou)}


def test_paired_differences_match_seeds_and_fractions() -> None:
    rows = [_row("supervised", 0.2, 0, 0.40), _row("supervised", 0.2, 1, 0.30), _row("pgssl", 0.2, 0, 0.45),
            _row("pgssl", 0.2, 1, 0.32), _row("pgssl", 0.5, 0, 0.50)]  # no supervised partner at 50%
    diffs = study.paired_differences(rows, "pgssl", "supervised")
    assert list(diffs) == [0.2]
    assert sorted(diffs[0.2]) == pytest.approx([0.02, 0.05])
    table = "\n".join(study.paired_lines(rows, ["supervised", "pgssl"], [0.2, 0.5]))
    assert "| pgssl - supervised | +0.035 (n=2) | - |" in table


def test_seed_list_comes_from_the_rows() -> None:
    rows = [_row("pgssl", 0.2, 0, 0.4), _row("supervised", 0.2, 2, 0.4), _row("pgssl", 1.0, 0, 0.4)]
    assert study.seeds_by_fraction(rows) == "20%: 0, 2; 100%: 0"
