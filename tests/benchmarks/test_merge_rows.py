"""Several study workers share one results CSV: concurrent merges never lose a row."""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _worker(path: str, worker: int, n: int) -> None:
    sys.path.insert(0, str(BENCH))
    import label_efficiency as study

    for i in range(n):
        study.merge_rows(Path(path), [{"method": f"m{worker}", "fraction": "0.1", "seed": i, "profile": "quick",
                                       "pool_limit": "", "overrides": "", "test_iou": 0.5}], study.cell_key)


def test_concurrent_workers_keep_every_row_and_replace_by_key(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    import label_efficiency as study

    path = tmp_path / "label_efficiency.csv"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(path), w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = study.read_rows(path)
    assert len(rows) == 60 and len({study.cell_key(r) for r in rows}) == 60
    # The same cell again replaces its row instead of adding one.
    rows = study.merge_rows(path, [{**rows[0], "test_iou": "0.9"}], study.cell_key)
    assert len(study.read_rows(path)) == 60
    assert [r["test_iou"] for r in rows if study.cell_key(r) == study.cell_key(rows[-1])] == ["0.9"]
