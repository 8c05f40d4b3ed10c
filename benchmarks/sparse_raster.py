"""Benchmark: work in proportion to the data on a huge sparse GeoTIFF.

Input: a 200,000 x 200,000 px, 3-band uint8, tiled (512 px blocks), deflate, sparse GeoTIFF in UTM
50N with one 512 x 512 block written, generated in a temporary folder.
Measured (median of ``--repeat`` runs, seconds, in this process, block-table cache cleared before each):
  - ``write_s``: writing the file with GDAL (SPARSE_OK)
  - ``block_scan_s``: reading the block offset table (``RasterSource.blocks``, 152,881 blocks)
  - ``inspect_s``: ``python -m pgssl_core inspect`` (validation, nodata count, JSON)
  - ``import_s``: ``python -m pgssl_core import`` into a new project (split into tiles)
Run: ``.venv/bin/python benchmarks/sparse_raster.py`` (writes ``benchmarks/results/sparse_raster.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from pgssl_core.cli import main  # noqa: E402
from pgssl_core.tiles import open_raster  # noqa: E402
from pgssl_core.tiles import raster as raster_module  # noqa: E402

SIDE = 200_000


def write_sparse(path: Path) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=SIDE, height=SIDE, count=3, dtype="uint8", crs="EPSG:32650",
                       transform=from_origin(440_000.0, 4_420_000.0, 0.5, 0.5), tiled=True, blockxsize=512,
                       blockysize=512, sparse_ok=True, compress="deflate", BIGTIFF="YES") as ds:
        data = np.random.default_rng(0).integers(1, 255, (3, 512, 512), dtype=np.uint8)
        ds.write(data, window=Window(1024, 2048, 512, 512))


def timed(fn) -> float:
    """Seconds of ``fn()``, cold: the in-process block-table cache is cleared first (each CLI
    command is a process of its own)."""
    raster_module._PRESENCE_CACHE.clear()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def quiet(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"write_s": [], "block_scan_s": [], "inspect_s": [], "import_s": []}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sparse.tif"
            runs["write_s"].append(timed(lambda: write_sparse(path)))

            def scan() -> None:
                with open_raster(path) as src:
                    assert src.blocks.present.sum() == 1

            runs["block_scan_s"].append(timed(scan))
            runs["inspect_s"].append(timed(lambda: quiet(["inspect", str(path)])))
            runs["import_s"].append(timed(lambda: quiet(["import", str(path), "--project", f"{tmp}/p{i}"])))
    result = {k: round(statistics.median(v), 3) for k, v in runs.items()}
    result.update(raster_px=f"{SIDE} x {SIDE}", stored_blocks=1, repeat=args.repeat, machine=platform.machine(),
                  cpus=os.cpu_count(), load_average_1min=round(os.getloadavg()[0], 2),
                  python=platform.python_version())
    out = REPO / "benchmarks" / "results" / "sparse_raster.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main_bench()
