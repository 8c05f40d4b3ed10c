"""``benchmarks/tune_defaults.py`` on a tiny real setting: val-only scores, the free round-1 rows,
the ranked table and resumption."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "tune_defaults.py"


def _tune(data: Path, out: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--data", str(data), "--out", str(out), "--profile", "test",
                           "--pool-limit", "12", "--val-limit", "6", "--seeds", "0", "--threads", "1",
                           "--device", "cpu", "--candidates", "base", "threshold_0.9", "--set", "crop=48"],
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.timeout(240)
def test_tuning_scores_candidates_on_val_and_resumes(oam_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tune"
    first = _tune(oam_dir, out)
    assert "test IoU" not in first.stdout and "val IoU" in first.stdout  # never a test figure
    with open(out / "tuning.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["candidate"] for r in rows) == ["base", "base+r1", "threshold_0.9", "threshold_0.9+r1"]
    by_name = {r["candidate"]: r for r in rows}
    assert '"pseudo_threshold": 0.9' in by_name["threshold_0.9"]["overrides"]
    assert '"crop": 48' in by_name["base"]["overrides"]  # --set is the base of every candidate
    for r in rows:
        assert 0.0 <= float(r["val_iou"]) <= 1.0
    assert float(by_name["base+r1"]["val_iou"]) <= float(by_name["base"]["val_iou"])
    md = (out / "tuning.md").read_text()
    assert "| base |" in md and "| threshold_0.9 |" in md and "vs base" in md

    before = (out / "tuning.csv").read_bytes()
    second = _tune(oam_dir, out)
    assert second.stdout.count("skip") == 2
    assert (out / "tuning.csv").read_bytes() == before
