"""The label-efficiency study's ``--smoke`` mode: one tiny real cell, its outputs, and resumption."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

COLUMNS = {"method", "fraction", "seed", "labelled", "unlabelled", "val_iou", "test_iou", "test_f1",
           "test_precision", "test_recall", "wall_s", "profile", "device", "pool_limit"}


def _smoke(script: Path, data: Path, out: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(script), "--smoke", "--data", str(data), "--out", str(out),
                           "--device", "cpu"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.timeout(180)
def test_smoke_writes_results_and_resumes(label_efficiency_script: Path, oam_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    # A leftover of a crashed cell (a run folder without a CSV row) must be cleared and redone,
    # not refused by the engine as "already holds a run".
    stale = out / "label_efficiency_runs" / "test-p16" / "pgssl-f0.2-s0"
    stale.mkdir(parents=True)
    (stale / "checkpoint.pt").write_bytes(b"half-written")

    first = _smoke(label_efficiency_script, oam_dir, out)
    assert "[1/1] pgssl" in first.stdout and "test IoU" in first.stdout
    csv_path = out / "label_efficiency.csv"
    for name in ("label_efficiency.csv", "label_efficiency.md", "label_efficiency.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "label_efficiency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert COLUMNS <= set(rows[0])
    # The two-round pgssl run also yields its round-1 model (the rounds ablation).
    assert sorted(r["method"] for r in rows) == ["pgssl", "pgssl_r1"]
    row = next(r for r in rows if r["method"] == "pgssl")
    r1 = next(r for r in rows if r["method"] == "pgssl_r1")
    assert float(r1["val_iou"]) <= float(row["val_iou"])  # selection over round 1 only cannot do better on val
    assert (row["method"], float(row["fraction"]), row["seed"], row["profile"]) == ("pgssl", 0.2, "0", "test")
    assert int(row["labelled"]) + int(row["unlabelled"]) == 16 and int(row["labelled"]) == 3
    for col in ("test_iou", "test_f1", "test_precision", "test_recall", "val_iou"):
        value = float(row[col])
        assert math.isfinite(value) and 0.0 <= value <= 1.0, (col, value)
    assert (stale / "best.pt").is_file() or (stale / "model.pt").is_file()
    md = (out / "label_efficiency.md").read_text()
    assert "| pgssl |" in md and "| pgssl_r1 |" in md and "Reduced grid" in md and "16 tiles" in md

    before = csv_path.read_bytes()
    second = _smoke(label_efficiency_script, oam_dir, out)
    assert "skip" in second.stdout and "test IoU" not in second.stdout
    assert csv_path.read_bytes() == before  # nothing recomputed, the row (and its wall time) unchanged
