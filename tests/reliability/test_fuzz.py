"""Fuzzing the tile reader: a seconds-long coverage-guided run (atheris) in the suite, and every input that
ever crashed it (``fuzz_regressions/``) plus truncations of real tiles as fixed regression cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgssl_core.errors import TileError
from pgssl_core.tiles import read_tile
from pgssl_core.tiles.reader import probe_size

from .conftest import REPO_ROOT, child_env
from .fuzz_tile_reader import write_seeds

pytestmark = pytest.mark.reliability

FUZZ_SECONDS = 10
FUZZ_SEED = 1
REGRESSIONS = Path(__file__).parent / "fuzz_regressions"


def test_fuzz_tile_reader_for_seconds(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(Path(__file__).parent / "fuzz_tile_reader.py"), "--seconds",
                           str(FUZZ_SECONDS), "--seed", str(FUZZ_SEED), "--crashes", str(tmp_path)],
                          cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True, timeout=FUZZ_SECONDS + 240)
    crashes = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(p.name for p in tmp_path.glob("oom-*"))
    assert proc.returncode == 0 and not crashes, (
        f"the fuzzer found {crashes}: copy them into {REGRESSIONS} and fix the reader\n{proc.stderr[-3000:]}")
    done = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Done ")]
    assert done, proc.stderr[-2000:]
    print(done[-1])


def _cases(tmp: Path) -> list[Path]:
    cases = [p for p in sorted(REGRESSIONS.iterdir()) if p.suffix != ".md"]
    for seed in write_seeds(tmp / "seeds"):
        data = seed.read_bytes()
        for cut in (8, 16, 100, len(data) // 2, len(data) - 1):
            path = tmp / f"{seed.name}.cut{cut}{seed.suffix}"
            path.write_bytes(data[:cut])
            cases.append(path)
    return cases


def test_fuzz_regressions_are_refused_in_one_line(tmp_path: Path) -> None:
    for path in _cases(tmp_path):
        for reader in (probe_size, read_tile):
            try:
                reader(path)
            except TileError as exc:
                assert "\n" not in str(exc) and str(tmp_path) not in str(exc), (path.name, str(exc))
