"""``python -m pgssl_core train``: a PGSSL (or baseline) training run from folders of tiles."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "train"
HELP = "train a building segmentation model with PGSSL or a baseline (few labels + unlabelled tiles)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgssl_core.train.profiles import PROFILES
    from pgssl_core.train.rounds import METHODS

    parser.add_argument("--images", required=True, help="folder of image tiles (PNG/GeoTIFF)")
    parser.add_argument("--masks", required=True, help="folder of binary masks with the same names (non-zero = building)")
    parser.add_argument("--manifest", help="CSV with a 'file' column (and 'split') selecting tiles")
    parser.add_argument("--split", default=None, help="manifest split used for training (e.g. train)")
    parser.add_argument("--unlabeled", nargs="*", default=[], metavar="DIR", help="extra folders of unlabelled tiles")
    parser.add_argument("--label-fraction", type=float, default=None,
                        help="keep labels on this seeded fraction of the tiles; the rest join the unlabelled pool")
    parser.add_argument("--limit", type=int, default=None, help="use a seeded subset of this many training tiles")
    parser.add_argument("--val-split", default=None, help="manifest split used for validation (e.g. val)")
    parser.add_argument("--val-limit", type=int, default=None, help="seeded subset of this many validation tiles")
    parser.add_argument("--method", choices=METHODS, default="pgssl")
    parser.add_argument("--no-confidence-weighting", action="store_true",
                        help="baseline: pseudo-labels as plain argmax with weight 1 (as in the source code)")
    parser.add_argument("--profile", choices=list(PROFILES), default="quick")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default: the profile's)")
    parser.add_argument("--init", default="base", metavar="base|scratch|PATH",
                        help="starting weights: the shipped base building model (default), random, or a model file")
    parser.add_argument("--gsd", default=None, metavar="M|native",
                        help="working ground resolution in m/px that tiles are resampled to (default: the "
                             "profile's, 0.3); 'native' keeps every tile's own resolution")
    parser.add_argument("--tile-gsd", default=None, metavar="M",
                        help="GSD of tiles without a georeference (default: none stated, they stay native)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="run folder (model.pt, best.pt, metrics.jsonl, checkpoint.pt)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")


def build_data(args: argparse.Namespace):
    """TrainingData from the folder arguments (shared by the train command and the benchmarks)."""
    from pgssl_core.errors import PgsslError
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd
    from pgssl_core.train.data import TrainingData, load_folder, split_label_fraction
    from pgssl_core.train.profiles import get_profile

    gsd = parse_gsd_option(getattr(args, "gsd", None), get_profile(args.profile).gsd_m)
    stated = parse_stated_gsd(getattr(args, "tile_gsd", None))
    samples = load_folder(args.images, args.masks, args.manifest, args.split, limit=args.limit, seed=args.seed,
                          working_gsd_m=gsd, stated_gsd_m=stated)
    labelled, unlabelled = (samples, []) if args.label_fraction is None else \
        split_label_fraction(samples, args.label_fraction, args.seed)
    for folder in args.unlabeled:
        unlabelled += load_folder(folder, working_gsd_m=gsd, stated_gsd_m=stated)
    val = []
    if args.val_split:
        if not args.manifest:
            raise PgsslError("--val-split needs --manifest (the split column says which tiles validate)")
        val = load_folder(args.images, args.masks, args.manifest, args.val_split, limit=args.val_limit, seed=args.seed,
                          working_gsd_m=gsd, stated_gsd_m=stated)
    return TrainingData(labelled, unlabelled, val, gsd_m=gsd)


def run(args: argparse.Namespace) -> int:
    from pgssl_core.train.jobs import acquire_machine_lock, release_machine_lock

    # The same machine-wide lock as the app's training jobs: one training run at a time per machine
    # (``$PGSSL_TRAIN_LOCK`` moves it), taken before any tile is read.
    lock = acquire_machine_lock()
    try:
        return _train(args)
    finally:
        release_machine_lock(lock)


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pgssl_core.train.rounds import TrainConfig, run_training

    data = build_data(args)
    config = TrainConfig(method=args.method, profile=args.profile, seed=args.seed, device=args.device,
                         confidence_weighting=not args.no_confidence_weighting, rounds=args.rounds,
                         init=args.init)
    bar = tqdm(total=0, unit="step", dynamic_ncols=True)

    def progress(event: dict) -> None:
        kind = event.get("kind")
        if kind == "info" and "device" in event:
            tqdm.write(f"{event['message']}; {len(data.labelled)} labelled, {len(data.unlabelled)} unlabelled, "
                       f"{len(data.val)} validation tiles")
        elif kind in ("stage", "activity"):
            bar.reset(total=event["total"])
            bar.update(event["step"])
            bar.set_description(f"round {event['round']} {event['stage']}")
        elif kind == "step":
            bar.update(event["step"] - bar.n)
            bar.set_postfix({k: f"{v:.3f}" for k, v in (event.get("losses") or {}).items() if v is not None})
        elif kind == "val":
            v = event["val"]
            tqdm.write(f"round {event['round']} {event['stage']} step {event['step']}: val IoU {v['iou']:.4f} "
                       f"F1 {v['f1']:.4f}")
        elif kind == "info" and "message" in event:
            tqdm.write(event["message"])

    try:
        result = run_training(data, config, Path(args.out), progress=progress, resume=args.resume)
    finally:
        bar.close()
    print(json.dumps({"model": str(result.model_path), "best": str(result.best_path) if result.best_path else None,
                      "val": result.final_val, "wall_s": round(result.wall_s, 1), "device": result.device}))
    return 0
