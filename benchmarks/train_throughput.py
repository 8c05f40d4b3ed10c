"""Training throughput: images/s of a supervised step and of a PGSSL pretraining step (all three
tasks, joint schedule) on the same device, batch and crop, and their cost ratio (target <= 3x).

Both go through the real stage code (``pgssl_core.train.segmenter``, ``pretraining``) on synthetic tiles; the figure is
the median of per-step images/s after warm-up steps. On CUDA (bf16 autocast, channels-last) it also
measures 512 px crops. Writes ``benchmarks/results/train_throughput.json``.

    python benchmarks/train_throughput.py [--profile quick] [--steps 8] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgssl_core.io import atomic_write_json  # noqa: E402
from pgssl_core.models import create_model  # noqa: E402
from pgssl_core.models.device import describe_device, resolve_device  # noqa: E402
from pgssl_core.train.data import TensorSet, TrainingData, make_sample  # noqa: E402
from pgssl_core.train.loop import RunContext, RunState  # noqa: E402
from pgssl_core.train.pretrain_model import PretrainModel  # noqa: E402
from pgssl_core.train.pretraining import pretrain  # noqa: E402
from pgssl_core.train.profiles import get_profile  # noqa: E402
from pgssl_core.train.progress import MetricsLog, Reporter  # noqa: E402
from pgssl_core.train.rounds import model_config  # noqa: E402
from pgssl_core.train.segmenter import train_segmenter  # noqa: E402


def _tiles(n: int, size: int) -> TrainingData:
    rng = np.random.default_rng(0)
    samples = [make_sample(rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
                           (rng.random((size, size)) < 0.2).astype(np.uint8)) for _ in range(n)]
    return TrainingData(samples)


def _measure(kind: str, profile, device: torch.device, steps: int, warmup: int) -> float:
    data = _tiles(8, max(profile.augment.crop * 2, 64))
    tiles = TensorSet.from_samples(data.labelled)
    rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        reporter = Reporter(MetricsLog(Path(tmp) / "m.jsonl"),
                            lambda e: rates.append(e["images_per_s"]) if e["kind"] == "step" else None, steps)
        ctx = RunContext(out_dir=Path(tmp), device=device, reporter=reporter, config={},
                         generator=torch.Generator().manual_seed(0), state=RunState(), checkpoint_every=10 ** 9,
                         log_every=10 ** 9)
        mcfg = model_config(profile, 3)
        if kind == "supervised":
            train_segmenter(ctx, "bench", 1, create_model(mcfg), mcfg, tiles, None, profile, steps + warmup)
        else:
            pseudo = ([m for m in tiles.masks], [torch.ones(m.shape) for m in tiles.masks])
            pretrain(ctx, 1, PretrainModel(mcfg, profile.tasks), tiles, pseudo, profile,
                     {"seg": 1.0, "byol": 1.0, "inpaint": 1.0}, steps + warmup)
    return statistics.median(rates[warmup:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="default: quick on CPU, standard on CUDA")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train_throughput.json"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    profile = get_profile(args.profile or ("standard" if device.type == "cuda" else "quick"))
    result = {"device": describe_device(device), "profile": profile.name, "encoder": profile.model.encoder,
              "crop": profile.augment.crop, "batch": profile.optim.batch_size, "steps": args.steps,
              "torch": torch.__version__,
              "threads": torch.get_num_threads(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    sup = _measure("supervised", profile, device, args.steps, args.warmup)
    pg = _measure("pgssl", profile, device, args.steps, args.warmup)
    result.update(supervised_images_per_s=round(sup, 2), pgssl_images_per_s=round(pg, 2),
                  pgssl_cost_ratio=round(sup / pg, 2), target_ratio=3.0)
    if device.type == "cuda":
        big = get_profile(profile.name, crop=512, batch_size=4)
        result["bf16_512"] = {"supervised_images_per_s": round(_measure("supervised", big, device, args.steps,
                                                                        args.warmup), 2),
                              "pgssl_images_per_s": round(_measure("pgssl", big, device, args.steps, args.warmup), 2)}
    print(json.dumps(result, indent=2))
    atomic_write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
