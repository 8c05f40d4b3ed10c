"""Throughput of prediction in one process and sharded over torchrun ranks, and the base model's FLOPs.

All runs in one go, on the same generated rasters, with the shipped base model, at its 0.3 m working GSD
(the rasters are made at 0.3 m, so no resampling) and the ``predict`` defaults (512 px windows, 64 px
overlap, batch 4), so the figures are ratios against a baseline of the same run:

- ``single_1thread`` (the baseline: what one rank does): ``predict_raster`` in one process, 1 thread;
- ``single_2threads``: the same with 2 threads (how one process uses this machine today);
- ``sharded_bands``: ``torchrun --nproc-per-node 2 ... predict`` (gloo, 127.0.0.1, 1 thread per rank) with
  the big raster split into row bands, assembled into a COG by GDAL;
- ``sharded_rasters``: the same command over ``--rasters`` smaller rasters shared out whole;
- ``pipeline_only_1thread``: the single-process run with the network replaced by zeros: what reading,
  batching, blending and writing cost on one CPU thread, the ceiling of one rank however fast its GPU.

px/s are source (= working, here) pixels per second of prediction; for torchrun, per rank (its own
prediction time) and in total (all pixels over the job's wall time, model loading and COG assembly
included). ``flops_per_px``: forward FLOPs per working pixel from ``torch.utils.flop_counter`` on one
512 px window (multiply-add = 2 FLOPs), the basis of the GPU estimate in docs/performance.md.

    .venv/bin/python benchmarks/sharded_predict.py [--size 2048] [--rasters 4]

writes ``benchmarks/results/sharded_predict.json``. The machine load at the start (os.getloadavg) is
recorded: on this project's machine one of the two cores runs a background training job.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sharded_predict.json"
BASE_MODEL = ROOT / "assets" / "models" / "base_building.pt"
GSD = 0.3


def make_raster(path: Path, size: int, seed: int) -> Path:
    """A ``size`` px square 3-band uint8 GeoTIFF at 0.3 m in UTM 50N (blocky random colours)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (3, size // 16 + 1, size // 16 + 1), dtype=np.uint8)
    img = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2)[:, :size, :size]
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8", tiled=True,
                       crs="EPSG:32650", transform=from_origin(440000, 4420000, GSD, GSD)) as ds:
        ds.write(img)
    return path


def _env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "GLOO_SOCKET_IFNAME": "lo", "PYTHONPATH": str(ROOT)}


SINGLE = """
import json, sys, time, torch
from pathlib import Path
from pgssl_core.infer import predict_raster
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.models import load_model
model, config, _ = load_model(sys.argv[1], "cpu")
if sys.argv[4] == "pipeline":  # no network: what reading, batching, blending and writing cost alone
    class NoNetwork(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])
    model = NoNetwork()
t0 = time.perf_counter()
s = predict_raster(model, config, sys.argv[2], sys.argv[3], PredictSettings(device="cpu"))
dt = time.perf_counter() - t0
print(json.dumps({"px": s.width * s.height, "seconds": dt, "threads": torch.get_num_threads()}))
"""


def single(model: Path, raster: Path, out: Path, threads: int, network: bool = True) -> dict:
    proc = subprocess.run([sys.executable, "-c", SINGLE, str(model), str(raster), str(out),
                           "network" if network else "pipeline"], env=_env(threads),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**run, "seconds": round(run["seconds"], 2), "px_per_s": round(run["px"] / run["seconds"], 1)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sharded(model: Path, inputs: Path, out: Path, band_min_mpx: float, ranks: int = 2) -> dict:
    argv = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(ranks),
            "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "pgssl_core", "predict",
            "--model", str(model), "--input", str(inputs), "--out", str(out), "--device", "cpu",
            "--band-min-mpx", str(band_min_mpx)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=_env(1), capture_output=True, text=True, cwd=ROOT)
    launcher_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"world_size": record["world_size"], "px_per_s_per_rank": record["px_per_s"],
            "total_px_per_s": record["total_px_per_s"], "job_wall_s": record["wall_s"],
            "launcher_wall_s": round(launcher_s, 1), "bands": record["bands"], "written": record["written"]}


def flops_per_px(model_path: Path, window: int = 512) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pgssl_core.models import load_model

    model, _, _ = load_model(model_path, "cpu")
    model.eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, window, window))
    return counter.get_total_flops() / window**2


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=BASE_MODEL)
    p.add_argument("--size", type=int, default=2048, help="side of the big raster (px at 0.3 m)")
    p.add_argument("--rasters", type=int, default=4, help="number of smaller rasters (half the side each)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = make_raster(tmp / "big.tif", args.size, 0)
        (tmp / "big.txt").write_text("big.tif\n")
        small = [make_raster(tmp / f"small{i}.tif", args.size // 2, i + 1) for i in range(args.rasters)]
        (tmp / "small.txt").write_text("".join(f"{s.name}\n" for s in small))
        runs = {"single_1thread": single(args.model, big, tmp / "one1.tif", 1),
                "single_2threads": single(args.model, big, tmp / "one2.tif", 2),
                "sharded_bands": sharded(args.model, tmp / "big.txt", tmp / "bands", 0.0),
                "sharded_rasters": sharded(args.model, tmp / "small.txt", tmp / "whole", 1e9),
                "pipeline_only_1thread": single(args.model, big, tmp / "pipe.tif", 1, network=False)}
    base = runs["single_1thread"]["px_per_s"]
    ratios = {"single_2threads": runs["single_2threads"]["px_per_s"] / base,
              "pipeline_only_1thread": runs["pipeline_only_1thread"]["px_per_s"] / base}
    for name in ("sharded_bands", "sharded_rasters"):
        ratios[f"{name}_total"] = runs[name]["total_px_per_s"] / base
        ratios[f"{name}_per_rank"] = [v / base for v in runs[name]["px_per_s_per_rank"].values()]
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_at_start": load,
                          "note": "one of the two cores runs a background training job (shared machine)"},
              "model": args.model.name, "gsd_m": GSD, "raster_px": args.size**2,
              "small_rasters": [args.rasters, (args.size // 2) ** 2],
              "flops_per_px": round(flops_per_px(args.model)), "runs": runs,
              "ratios_vs_single_1thread": {k: (round(v, 3) if isinstance(v, float) else [round(x, 3) for x in v])
                                           for k, v in ratios.items()}}
    text = json.dumps(result, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
