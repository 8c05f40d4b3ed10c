"""Figures of a base building model: accuracy on the shared OAM splits and CPU inference throughput.

- ``test``: IoU/F1/precision/recall of the model alone (no labels of the user) on the OAM ``test``
  split at its working GSD, overall and per source zoom (z19/z20/z21 = 0.30/0.15/0.075 m sources).
- ``gsd_scan``: val IoU with the tiles read at other working GSDs (the evidence for the default GSD;
  only ``val``, never ``test``).
- ``throughput``: CPU inference of ``predict_raster`` over a generated 0.15 m GeoTIFF, in source Mpx/s,
  for the model at its working GSD and for the same network at native resolution (what a model without
  a working GSD did), measured in the same run; the ratio is the speed-up of the working GSD.

    .venv/bin/python benchmarks/base_model.py [--model assets/models/base_building.pt] [--threads 2]

Writes ``benchmarks/results/base_model.json`` and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgssl_core.infer import predict_raster  # noqa: E402
from pgssl_core.infer.settings import PredictSettings  # noqa: E402
from pgssl_core.models import load_model  # noqa: E402
from pgssl_core.models.init_model import BASE_MODEL_PATH  # noqa: E402
from pgssl_core.train.data import TensorSet, load_folder  # noqa: E402
from pgssl_core.train.metrics import evaluate_tensors  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "oam_buildings"
RESULTS = ROOT / "benchmarks" / "results" / "base_model.json"
GSD_SCAN = (0.25, 0.3, 0.4, 0.5, 0.6)


def _figures(model, config, samples) -> dict[str, float]:
    out = evaluate_tensors(model, config, TensorSet.from_samples(samples), torch.device("cpu"))
    return {k: round(float(v), 4) for k, v in out.items()}


def _split(split: str, gsd: float | None, limit: int | None = None) -> list[dict]:
    return load_folder(DATA / "images", DATA / "masks", DATA / "manifest.csv", split, limit, 0, working_gsd_m=gsd)


def accuracy(model, config, val_limit: int | None) -> dict:
    test = _split("test", config.gsd_m)
    per_zoom = {}
    for z in (19, 20, 21):
        part = [s for s in test if s["name"].endswith(f"-{z}.png")]
        per_zoom[f"z{z}"] = _figures(model, config, part)
    scan = {}
    for gsd in GSD_SCAN:
        scan[f"{gsd:g}"] = _figures(model, config, _split("val", gsd, val_limit))["iou"]
    return {"test": _figures(model, config, test), "test_by_zoom": per_zoom, "val_iou_by_working_gsd": scan}


def _raster(path: Path, size: int, gsd: float) -> Path:
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (3, size // 16 + 1, size // 16 + 1), dtype=np.uint8)
    img = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2)[:, :size, :size]
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(440000, 4420000, gsd, gsd), tiled=True) as ds:
        ds.write(img)
    return path


def throughput(model, config, size: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = _raster(Path(tmp) / "src.tif", size, 0.15)
        timings = {}
        for label, gsd in (("working_gsd", "model"), ("native", None)):
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                predict_raster(model, config, src, Path(tmp) / f"{label}.tif", PredictSettings(gsd_m=gsd))
                best = min(best, time.perf_counter() - t0)
            timings[label] = round(size * size / best / 1e6, 3)
    return {"source": f"{size} x {size} px at 0.15 m", "source_mpx_per_s": timings,
            "speedup": round(timings["working_gsd"] / timings["native"], 2), "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=BASE_MODEL_PATH)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--val-limit", type=int, default=None, help="seeded subset of val for the GSD scan")
    p.add_argument("--size", type=int, default=2048, help="side of the throughput raster (px)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, config, meta = load_model(args.model)
    result: dict = {"model": args.model.name, "working_gsd_m": config.gsd_m, "encoder": config.encoder,
                    "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)}
    if not args.skip_accuracy:
        result.update(accuracy(model, config, args.val_limit))
    result["throughput"] = throughput(model, config, args.size, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
