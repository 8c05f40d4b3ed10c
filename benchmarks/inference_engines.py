"""Benchmark of the CPU inference engines: ONNX Runtime vs PyTorch eager, and end-to-end ``predict``.

All in one process and one run, so that the ratios are taken under the same machine load:

1. engine throughput: the model's forward pass on one ``--size`` px input, median of ``--repeats`` runs,
   PyTorch eager and ONNX Runtime interleaved (Mpx/s of input, and ONNX / eager);
2. end to end: ``predict_raster`` on a generated ``--raster`` px GeoTIFF at the model's working GSD (no
   resampling), with each engine (Mpx/s, and each against the engine's own forward pass).

Model: the shipped base model by default (``--model``). Run (2 threads, the product's figures):
``.venv/bin/python benchmarks/inference_engines.py --threads 2`` (writes
``benchmarks/results/inference_engines.json``). Figures are printed and written, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "inference_engines.json"


def median_seconds(run, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``run()``, after one warm-up call."""
    run()  # warm-up: first-call allocations, ONNX Runtime's memory plan
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def engine_figures(model_path: Path, size: int, repeats: int) -> dict:
    """Forward-pass Mpx/s of both engines on one (1, 3, size, size) input, interleaved per repeat."""
    from pgssl_core.models import load_model
    from pgssl_core.models.onnx_engine import active_engine, run_network

    eager, _, _ = load_model(model_path, engine="torch")
    fast, _, _ = load_model(model_path, engine="onnx")
    x = torch.randn(1, 3, size, size)
    seconds: dict[str, list[float]] = {"torch": [], "onnx": []}
    with torch.inference_mode():
        for _ in range(repeats):
            for name, model in (("torch", eager), ("onnx", fast)):
                seconds[name].append(median_seconds(lambda m=model: run_network(m, x), 1))
    assert active_engine(fast) == "onnx"
    mpx = size * size / 1e6
    out = {f"{k}_mpx_s": round(mpx / statistics.median(v), 4) for k, v in seconds.items()}
    out["onnx_over_torch"] = round(out["onnx_mpx_s"] / out["torch_mpx_s"], 3)
    return out


def write_random_geotiff(path: Path, raster_px: int, gsd_m: float) -> Path:
    """A ``raster_px`` square 3-band uint8 GeoTIFF of random pixels at ``gsd_m`` (UTM 50N), written 512 rows at
    a time (memory stays small at any size)."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", driver="GTiff", width=raster_px, height=raster_px, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(448_000, 4_420_000, gsd_m, gsd_m), tiled=True) as ds:
        for row in range(0, raster_px, 512):
            h = min(512, raster_px - row)
            ds.write(rng.integers(0, 256, (3, h, raster_px), dtype=np.uint8),
                     window=rasterio.windows.Window(0, row, raster_px, h))
    return path


def end_to_end(model_path: Path, raster_px: int, engines: dict) -> dict:
    """``predict_raster`` Mpx/s with each engine on a generated GeoTIFF at the model's working GSD."""
    from pgssl_core.infer import predict_raster
    from pgssl_core.models import load_model

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.tif"
        _, config, _ = load_model(model_path, engine="torch")
        write_random_geotiff(src, raster_px, config.gsd_m or 0.3)
        for name in ("torch", "onnx"):
            model, config, _ = load_model(model_path, engine=name)
            start = time.perf_counter()
            predict_raster(model, config, src, Path(tmp) / f"out_{name}.tif")
            mpx_s = raster_px * raster_px / 1e6 / (time.perf_counter() - start)
            out[f"{name}_mpx_s"] = round(mpx_s, 4)
            out[f"{name}_over_its_forward"] = round(mpx_s / engines[f"{name}_mpx_s"], 3)
    out["onnx_over_torch"] = round(out["onnx_mpx_s"] / out["torch_mpx_s"], 3)
    return out


def main() -> None:
    """Parse the options, run both measurements, print them and write the JSON file."""
    from pgssl_core.shipped import BASE_MODEL_PATH

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=BASE_MODEL_PATH)
    p.add_argument("--size", type=int, default=1024, help="forward-pass input side, px")
    p.add_argument("--raster", type=int, default=4000, help="end-to-end GeoTIFF side, px")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--note", default="", help="e.g. the machine's load during the run")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    engines = engine_figures(args.model, args.size, args.repeats)
    print("engine:", engines, flush=True)
    e2e = end_to_end(args.model, args.raster, engines)
    print("end to end:", e2e, flush=True)
    from pgssl_core.io import atomic_write_json

    atomic_write_json(args.out, {
        "model": args.model.name, "threads": torch.get_num_threads(), "size_px": args.size,
        "raster_px": args.raster, "repeats": args.repeats, "engine": engines, "end_to_end": e2e,
        "note": args.note, "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "torch": torch.__version__, "onnxruntime": __import__("onnxruntime").__version__,
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
