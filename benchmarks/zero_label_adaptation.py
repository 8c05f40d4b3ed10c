"""Zero-label adaptation (AdaBN) of the base model, measured on new places: zero-shot vs BatchNorm-adapted.

No label is used to adapt: the BatchNorm statistics of the base model are re-estimated on the set's images
(:mod:`pgssl_core.models.adapt_bn`), then the model is scored as ``evaluate`` scores it (pooled pixels,
threshold 0.5 = argmax, tiles at the model's working GSD).

- ``kathmandu``: ``../shared/data/kathmandu_oam``, all 168 tiles scored; adapted on the same 168 images
  (what ``evaluate --adapt-bn`` does: the inputs being predicted).
- ``dubai``: ``../shared/data/dubai_satellite``, the 58 ``per-building`` tiles scored (read as 1.0 m, the CLI's
  ``--tile-gsd 1.0``); adapted on the images of all 594 tiles of the set (no mask read).
- ``oam_test``: the OAM ``test`` split (the base model's own kind of imagery), adapted on its own images: a
  check that adaptation does not hurt where the model already fits.

Variants (``--variants``): the default (64 crops of 256 px, 8 per batch, alpha 1), and the knobs around it:
number of crops, batch size, blend factor alpha, encoder-only adaptation, seeds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/zero_label_adaptation.py --threads 1

Writes ``benchmarks/results/zero_label_adaptation.json`` (rows of sets not measured in this run are kept), the summary
table ``zero_label_adaptation.md`` (per blend factor: mean +/- sd over 3 crop seeds), and prints one line per row.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgssl_core.models import load_model  # noqa: E402
from pgssl_core.models.adapt_bn import adapt_to_tiles, batchnorm_layers  # noqa: E402
from pgssl_core.models.init_model import BASE_MODEL_PATH  # noqa: E402
from pgssl_core.train.data import TensorSet, load_folder  # noqa: E402
from pgssl_core.train.metrics import evaluate_tensors  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "zero_label_adaptation.json"

#: name -> adapt_to_tiles keyword arguments (plus "encoder_only": decoder statistics put back to the source's).
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "crops16": {"max_crops": 16},
    "crops256": {"max_crops": 256},
    "batch1": {"batch_size": 1},
    "batch32": {"batch_size": 32, "max_crops": 256},
    "alpha0.5": {"alpha": 0.5},
    "alpha0.75": {"alpha": 0.75},
    "alpha0.75_seed1": {"alpha": 0.75, "seed": 1},
    "alpha0.75_seed2": {"alpha": 0.75, "seed": 2},
    "alpha0.5_seed1": {"alpha": 0.5, "seed": 1},
    "alpha0.5_seed2": {"alpha": 0.5, "seed": 2},
    "encoder_only": {"encoder_only": True},
    "seed1": {"seed": 1},
    "seed2": {"seed": 2},
}


def _manifest(names: list[str], folder: Path) -> Path:
    path = folder / "manifest.csv"
    path.write_text("file\n" + "\n".join(names) + "\n")
    return path


def load_set(name: str, gsd: float) -> tuple[list[dict], list[Any]]:
    """(scored samples with masks, adaptation images) of a set at the working GSD ``gsd``."""
    with tempfile.TemporaryDirectory() as tmp:
        if name == "kathmandu":
            folder = DATA / "kathmandu_oam"
            scored = load_folder(folder / "images", folder / "masks", working_gsd_m=gsd)
            return scored, [s["image"] for s in scored]
        if name == "dubai":
            folder = DATA / "dubai_satellite"
            with open(folder / "manifest.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            roofs = [f"{r['stem']}.png" for r in rows if r["label_style"] == "per-building"]
            scored = load_folder(folder / "images", folder / "masks", _manifest(roofs, Path(tmp)),
                                 working_gsd_m=gsd, stated_gsd_m=1.0)
            every = load_folder(folder / "images", None, working_gsd_m=gsd, stated_gsd_m=1.0)
            return scored, [s["image"] for s in every]
        if name == "oam_test":
            folder = DATA / "oam_buildings"
            scored = load_folder(folder / "images", folder / "masks", folder / "manifest.csv", "test",
                                 working_gsd_m=gsd)
            return scored, [s["image"] for s in scored]
    raise ValueError(name)


def adapted(model: torch.nn.Module, config, images: list, variant: dict[str, Any]) -> torch.nn.Module:
    """The base model adapted by ``variant`` (see :data:`VARIANTS`)."""
    kwargs = {k: v for k, v in variant.items() if k != "encoder_only"}
    out = adapt_to_tiles(model, config, images, **kwargs)
    if variant.get("encoder_only"):
        source = dict(batchnorm_layers(model))
        for name, bn in batchnorm_layers(out):
            if not name.startswith("encoder."):
                bn.load_state_dict(source[name].state_dict())
    return out


#: Rows of the summary table: a label and the variants that are its seeds.
SUMMARY: dict[str, tuple[str, ...]] = {
    "alpha 1 (target statistics only)": ("default", "seed1", "seed2"),
    "alpha 0.75 (the product's default)": ("alpha0.75", "alpha0.75_seed1", "alpha0.75_seed2"),
    "alpha 0.5": ("alpha0.5", "alpha0.5_seed1", "alpha0.5_seed2"),
}


def write_summary(rows: list[dict[str, Any]], path: Path) -> None:
    """A Markdown table: IoU per set for zero-shot and each blend factor (mean +/- sd over crop seeds, and the
    change from zero-shot)."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    iou = {(r["set"], r["variant"]): float(r["iou"]) for r in rows}
    lines = ["| IoU (mean ± sd over 3 crop seeds; change from zero-shot) | " + " | ".join(sets) + " |",
             "| --- |" + " --- |" * len(sets),
             "| zero-shot (base model as shipped) | " + " | ".join(f"{iou.get((s, 'zero_shot'), float('nan')):.3f}"
                                                      for s in sets) + " |"]
    for label, variants in SUMMARY.items():
        cells = []
        for name in sets:
            values = [iou[(name, v)] for v in variants if (name, v) in iou]
            if not values:
                cells.append("")
                continue
            mean, sd = statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{mean:.3f} ± {sd:.3f} ({mean - iou[(name, 'zero_shot')]:+.3f})")
        lines.append(f"| BatchNorm adapted, {label} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["kathmandu", "dubai", "oam_test"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, config, _ = load_model(BASE_MODEL_PATH, "cpu")
    assert config.gsd_m is not None
    dev = torch.device("cpu")
    rows: list[dict[str, Any]] = []
    for name in args.sets:
        t0 = time.perf_counter()
        scored, images = load_set(name, config.gsd_m)
        load_s = time.perf_counter() - t0
        tiles = TensorSet.from_samples(scored)
        t0 = time.perf_counter()
        base = evaluate_tensors(model, config, tiles, dev)
        rows.append({"set": name, "variant": "zero_shot", "scored": len(scored), "adapt_images": 0,
                     "adapt_s": 0.0, "score_s": round(time.perf_counter() - t0, 1), "load_s": round(load_s, 1),
                     **{k: round(base[k], 4) for k in ("iou", "precision", "recall")}})
        print(json.dumps(rows[-1]), flush=True)
        for vname in args.variants:
            t0 = time.perf_counter()
            net = adapted(model, config, images, VARIANTS[vname])
            adapt_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            figures = evaluate_tensors(net, config, tiles, dev)
            rows.append({"set": name, "variant": vname, "scored": len(scored), "adapt_images": len(images),
                         "adapt_s": round(adapt_s, 1), "score_s": round(time.perf_counter() - t0, 1),
                         **{k: round(figures[k], 4) for k in ("iou", "precision", "recall")}})
            print(json.dumps(rows[-1]), flush=True)
        del images, scored, tiles
    kept = []  # rows of other sets already in the file stay (a set is measured again as a whole)
    if args.out.is_file():
        kept = [r for r in json.loads(args.out.read_text())["rows"] if r["set"] not in args.sets]
    record = {"machine": platform.processor() or platform.machine(), "cpu_threads": args.threads,
              "model": str(BASE_MODEL_PATH.relative_to(ROOT)), "variants": VARIANTS, "rows": kept + rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    write_summary(record["rows"], args.out.with_suffix(".md"))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
