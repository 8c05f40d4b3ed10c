"""Several study workers share one results CSV: concurrent merges never lose a row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

# Each worker is its own interpreter (as study workers are): a multiprocessing child would re-run whatever
# module an earlier test left as __main__ (Streamlit's AppTest leaves the app's page script there).
_WORKER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import label_efficiency as study
path, worker, n = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    study.merge_rows(path, [{"method": f"m{worker}", "fraction": "0.1", "seed": i, "profile": "quick",
                             "pool_limit": "", "overrides": "", "test_iou": 0.5}], study.cell_key)
"""


def test_concurrent_workers_keep_every_row_and_replace_by_key(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    import label_efficiency as study

    path = tmp_path / "label_efficiency.csv"
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(BENCH), str(path), str(w), "15"],
                              cwd=BENCH.parent, stderr=subprocess.PIPE, text=True) for w in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    rows = study.read_rows(path)
    assert len(rows) == 60 and len({study.cell_key(r) for r in rows}) == 60
    # The same cell again replaces its row instead of adding one.
    rows = study.merge_rows(path, [{**rows[0], "test_iou": "0.9"}], study.cell_key)
    assert len(study.read_rows(path)) == 60
    assert [r["test_iou"] for r in rows if study.cell_key(r) == study.cell_key(rows[-1])] == ["0.9"]
