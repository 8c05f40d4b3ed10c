"""Benchmark of ``predict`` end to end: the pipeline against its engine and against the older path.

In one run, so that every ratio is taken under the same machine load (the machine is shared):

1. engine: the base model's forward pass on one ``--size`` px input, PyTorch eager and ONNX Runtime interleaved
   (``inference_engines.engine_figures``), in Mpx/s of input;
2. the ONNX Runtime forward pass alone over exactly the windows ``predict`` runs on each raster: the median
   seconds of one batch of each size the window layout uses (4 windows, and the smaller last batch of a strip),
   in the end-to-end run's own process just before and just after it (the machine's load changes by the minute),
   times the number of such batches (measured per batch, the total is arithmetic);
3. end to end: a generated ``--sizes`` px GeoTIFF at the model's working GSD predicted into a GeoTIFF, each in a
   fresh subprocess that loads the model, runs one small forward pass (session built, graph checked), then times
   the prediction and reports it with the process's peak RSS (VmHWM, imports and model included): this
   tree's pipeline (``infer.pipeline.predict_file``) with the default engine (ONNX Runtime), and "today" = the
   whole-raster function of the tree at ``--old-tree`` (a checkout of 3aa28e0, e.g. ``git worktree add --detach
   /tmp/pgssl_old 3aa28e0``) on PyTorch eager (``engine="torch"``). Both run interleaved, size by size. Process
   start-up, imports and model loading (about 10 s here, the same for any raster) are reported apart (``load_s``).

Run (2 threads, the product's figures): ``.venv/bin/python benchmarks/predict_end_to_end.py --threads 2
--old-tree /tmp/pgssl_old`` writes ``benchmarks/results/predict_end_to_end.{csv,md}``. ``--pipeline-only PX --threads
1`` measures the pipeline with the network left out (what a GPU would leave to the CPU) into
``predict_end_to_end_pipeline.json``. Figures are printed and written, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from inference_engines import engine_figures, write_random_geotiff  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"

#: In the tree given as argv[1]: load the base model with engine argv[2] and run one forward pass (the ONNX session
#: built and its graph checked), then time ``entry`` (argv[5], a name in ``pgssl_core.infer``) on argv[3] -> argv[4].
#: With a window plan (argv[6]: the batch sizes of one strip, the strips and the window side), the forward pass
#: alone is timed just before and just after (median of 3 per batch size) and scaled to the plan's batches.
#: Prints the seconds and the peak RSS of the process (VmHWM: ``ru_maxrss`` would carry the parent's peak over
#: from before the exec).
CHILD = """
import importlib, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.models import load_model
from pgssl_core.shipped import BASE_MODEL_PATH

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024.0

def batch_seconds(plan):
    side = plan["window"]
    x = np.random.default_rng(0).integers(0, 256, (max(plan["sizes"]), side, side, 3), dtype=np.uint8)
    out = {}
    for n in sorted(set(plan["sizes"])):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            forward_probabilities(model, config, x[:n])
            times.append(time.perf_counter() - start)
        out[n] = statistics.median(times)
    return out

start = time.perf_counter()
model, config, _ = load_model(BASE_MODEL_PATH, engine=sys.argv[2])
forward_probabilities(model, config, np.zeros((1, 64, 64, 3), np.uint8))
load_s = time.perf_counter() - start
plan = json.loads(sys.argv[6])
before = batch_seconds(plan) if plan else None
module, name = sys.argv[5].rsplit(".", 1)
entry = getattr(importlib.import_module(module), name)
start = time.perf_counter()
entry(model, config, sys.argv[3], sys.argv[4])
seconds, peak = time.perf_counter() - start, peak_mb()
forward_s = None
if plan:
    after = batch_seconds(plan)
    forward_s = sum((before[n] + after[n]) / 2 for n in plan["sizes"]) * plan["strips"]
print(json.dumps({"load_s": load_s, "seconds": seconds, "forward_s": forward_s, "peak_rss_mb": peak}))
"""
#: What each tree's end-to-end run calls: this tree's one pipeline, and the older tree's whole-raster function
#: (the command's route for a dense GeoTIFF there).
NEW_ENTRY, OLD_ENTRY = "pgssl_core.infer.pipeline.predict_file", "pgssl_core.infer.raster.predict_raster"


def window_plan(raster_px: int) -> dict:
    """The batches ``predict`` runs on a ``raster_px`` square raster at the working GSD: the batch sizes of one
    strip (row of windows), the number of strips, the window side (px) and the window count."""
    from pgssl_core.infer.settings import PredictSettings
    from pgssl_core.infer.stitch import plan_windows
    from pgssl_core.models import load_model
    from pgssl_core.shipped import BASE_MODEL_PATH

    _, config, _ = load_model(BASE_MODEL_PATH, engine="torch")
    settings = PredictSettings()
    layout = plan_windows(raster_px, raster_px, settings.window, settings.overlap, config.output_stride)
    cols = len(layout.col_starts)
    return {"sizes": [min(settings.batch_size, cols - b) for b in range(0, cols, settings.batch_size)],
            "strips": len(layout.row_starts), "window": layout.win_h, "windows": layout.count}


def run_predict(tree: Path, entry: str, src: Path, out: Path, engine: str, threads: int, plan: dict | None) -> dict:
    """``entry`` of ``tree``'s code on ``src`` in a fresh process of ``threads`` threads (see :data:`CHILD`):
    seconds, peak RSS, and with ``plan`` the forward pass alone over its batches."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    argv = [sys.executable, "-c", CHILD, str(tree), engine, str(src), str(out), entry, json.dumps(plan or {})]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=7200, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise RuntimeError(f"prediction failed ({tree}, {engine}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """Engine figures, then per raster size the forward pass alone and both end-to-end runs."""
    from pgssl_core.shipped import BASE_MODEL_PATH

    engines = engine_figures(BASE_MODEL_PATH, args.size, args.repeats)  # also caches the ONNX graph
    print("engine:", engines, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for px in args.sizes:
            src = write_random_geotiff(Path(tmp) / f"in{px}.tif", px, 0.3)
            mpx = px * px / 1e6
            plan = window_plan(px)
            row: dict = {"raster_px": px, "windows": plan.pop("windows")}
            new = run_predict(ROOT, NEW_ENTRY, src, Path(tmp) / "new.tif", "auto", args.threads, plan)
            row.update(e2e_s=round(new["seconds"], 2), e2e_mpx_s=round(mpx / new["seconds"], 4),
                       peak_rss_mb=round(new["peak_rss_mb"]), load_s=round(new["load_s"], 1),
                       onnx_forward_windows_s=round(new["forward_s"], 2))
            if args.old_tree is not None:
                old = run_predict(args.old_tree, OLD_ENTRY, src, Path(tmp) / "old.tif", "torch", args.threads, None)
                row.update(today_s=round(old["seconds"], 2), today_mpx_s=round(mpx / old["seconds"], 4),
                           today_peak_rss_mb=round(old["peak_rss_mb"]),
                           e2e_over_today=round(old["seconds"] / new["seconds"], 3))
            row["e2e_over_forward_windows"] = round(new["forward_s"] / new["seconds"], 3)
            row["e2e_over_forward_1024"] = round(row["e2e_mpx_s"] / engines["onnx_mpx_s"], 3)
            print(row, flush=True)
            rows.append(row)
            for path in (src, Path(tmp) / "new.tif", Path(tmp) / "old.tif"):
                path.unlink(missing_ok=True)
    return engines, rows


class NoNetwork(torch.nn.Module):
    """Zero logits (N, 2, H, W) for any input: what the pipeline costs around the network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - see the class
        return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])


def pipeline_only(raster_px: int) -> dict:
    """The pipeline with the network left out (:class:`NoNetwork`) on a ``raster_px`` GeoTIFF at 0.3 m, in this
    process: reading, batching, blending, encoding and writing alone (Mpx/s)."""
    import time

    from pgssl_core.infer.pipeline import predict_file
    from pgssl_core.models import load_model
    from pgssl_core.shipped import BASE_MODEL_PATH

    _, config, _ = load_model(BASE_MODEL_PATH, engine="torch")
    with tempfile.TemporaryDirectory() as tmp:
        src = write_random_geotiff(Path(tmp) / "in.tif", raster_px, 0.3)
        start = time.perf_counter()
        predict_file(NoNetwork(), config, src, Path(tmp) / "out.tif")
        seconds = time.perf_counter() - start
    return {"raster_px": raster_px, "threads": torch.get_num_threads(), "seconds": round(seconds, 2),
            "mpx_s": round(raster_px * raster_px / 1e6 / seconds, 3), "load_average": os.getloadavg()[0]}


def write_results(engines: dict, rows: list[dict], args: argparse.Namespace) -> None:
    """``predict_end_to_end.csv`` (one row per raster size) and ``.md`` (the table and the run's facts)."""
    from pgssl_core.io import atomic_write_bytes

    fields = list(dict.fromkeys(k for r in rows for k in r))
    lines = [",".join(fields)] + [",".join(str(r.get(k, "")) for k in fields) for r in rows]
    atomic_write_bytes(RESULTS / "predict_end_to_end.csv", ("\n".join(lines) + "\n").encode())
    load = os.getloadavg()
    md = [f"# predict end to end ({torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()})", "",
          f"Forward pass, one {args.size} px input: PyTorch eager {engines['torch_mpx_s']} Mpx/s, ONNX Runtime "
          f"{engines['onnx_mpx_s']} Mpx/s (**{engines['onnx_over_torch']}x**).", "",
          "| " + " | ".join(fields) + " |", "|" + " --- |" * len(fields)]
    md += ["| " + " | ".join(str(r.get(k, "")) for k in fields) + " |" for r in rows]
    md += ["", f"Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. {args.note}".rstrip(),
           "", f"today: the tree at --old-tree ({args.old_tree}) on PyTorch eager; e2e: this tree's pipeline, default "
           "engine (ONNX Runtime); both after loading the model (load_s: start-up, imports and loading, apart). "
           "e2e_over_forward_windows: the ONNX forward pass alone over the same windows (median time per batch "
           "size, before and after the run in its process, x batches) / end to end; "
           "e2e_over_forward_1024: end-to-end Mpx/s / the forward pass's Mpx/s on "
           "one 1,024 px input (the windows' overlap, 1.31x the pixels at 512/64 px, counts against it)."]
    atomic_write_bytes(RESULTS / "predict_end_to_end.md", ("\n".join(md) + "\n").encode())


def main() -> None:
    """Parse the options, measure, print and write the results."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[4000, 8000], help="raster sides, px (0.3 m)")
    p.add_argument("--size", type=int, default=1024, help="forward-pass input side, px")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--old-tree", type=Path, default=None, help="checkout of the older code (3aa28e0)")
    p.add_argument("--note", default="", help="e.g. the machine's load during the run")
    p.add_argument("--pipeline-only", type=int, default=None, metavar="PX",
                   help="only the pipeline without the network on a PX raster; writes predict_end_to_end_pipeline.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.pipeline_only:
        from pgssl_core.io import atomic_write_json

        figures = pipeline_only(args.pipeline_only)
        print(figures)
        atomic_write_json(RESULTS / "predict_end_to_end_pipeline.json", figures)
        return
    engines, rows = measure(args)
    write_results(engines, rows, args)
    print(f"wrote {RESULTS / 'predict_end_to_end.csv'} and .md")


if __name__ == "__main__":
    main()
