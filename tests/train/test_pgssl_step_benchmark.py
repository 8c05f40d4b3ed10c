"""benchmarks/pgssl_step.py runs the real stage code and writes its table (the figures are not asserted:
tests never assert timings)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pgssl_step.py"


def test_benchmark_writes_one_row_per_thread_count_and_format(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--profile", "test", "--threads", "1", "--steps", "1",
                           "--warmup", "1", "--repeats", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader((tmp_path / "pgssl_step.csv").open(encoding="utf-8")))
    assert [(r["threads"], r["memory_format"]) for r in rows] == [("1", "channels_last"), ("1", "contiguous")]
    for r in rows:
        ratio = float(r["pgssl_s"]) / float(r["supervised_s"])  # the ratio of the same run's two figures
        assert abs(float(r["ratio"]) - ratio) <= 0.01 * ratio
        assert r["profile"] == "test" and r["steps_counted"] == "1"
    table = (tmp_path / "pgssl_step.md").read_text(encoding="utf-8")
    assert "| 1 | channels_last |" in table and "| 1 | contiguous |" in table
    assert "ratio" in proc.stdout
