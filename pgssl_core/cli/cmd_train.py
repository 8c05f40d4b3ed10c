"""``python -m pgssl_core train``: a PGSSL (or baseline) training run from folders of tiles.

Under ``torchrun --nproc-per-node N [--nnodes M ...] -m pgssl_core train ...`` the same command trains
with DistributedDataParallel (see :mod:`pgssl_core.distributed`); every rank reads the same folders.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pgssl_core.cli.arg_types import (
    gsd_option,
    non_negative_int,
    output_folder,
    positive_float,
    positive_int,
    stated_gsd,
)
from pgssl_core.io.dataclass_args import add_config_arguments

if TYPE_CHECKING:
    from pgssl_core.distributed import DistInfo

#: The argument types TrainConfig's flags name by ``check`` (the train layer cannot import the CLI's).
CONFIG_TYPES = {"positive_int": positive_int, "positive_float": positive_float}

NAME = "train"
HELP = "train a building segmentation model with PGSSL or a baseline (few labels + unlabelled tiles)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options: data (folders or project), split and subsets, the fields of
    :class:`~pgssl_core.train.rounds.TrainConfig` (method, profile, schedule, ...), data resolution and outputs."""
    from pgssl_core.train.rounds import TrainConfig

    parser.add_argument("--images", help="folder of image tiles (PNG/GeoTIFF); or give --project")
    parser.add_argument("--masks", help="folder of binary masks with the same names (non-zero = building)")
    parser.add_argument("--project", metavar="DIR",
                        help="train on an app project's labelled, unlabelled and validation tiles, as its Train page "
                             "does (instead of --images/--masks)")
    parser.add_argument("--max-pool", type=non_negative_int, default=None, metavar="N",
                        help="with --project: a seeded subset of at most N unlabelled tiles")
    parser.add_argument("--max-val", type=non_negative_int, default=16, metavar="N",
                        help="with --project: at most N validation tiles (default 16)")
    parser.add_argument("--manifest", help="CSV with a 'file' column (and 'split') selecting tiles")
    parser.add_argument("--split", default=None, help="manifest split used for training (e.g. train)")
    parser.add_argument("--unlabeled", nargs="*", default=[], metavar="DIR", help="extra folders of unlabelled tiles")
    parser.add_argument("--label-fraction", type=float, default=None,
                        help="keep labels on this seeded fraction of the tiles; the rest join the unlabelled pool")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use a seeded subset of this many training tiles")
    parser.add_argument("--val-split", default=None, help="manifest split used for validation (e.g. val)")
    parser.add_argument("--val-limit", type=positive_int, default=None,
                        help="seeded subset of this many validation tiles")
    # method, profile, seed, device, switches, starting weights, batch size and time budget: TrainConfig's fields
    add_config_arguments(parser, TrainConfig, types=CONFIG_TYPES)
    parser.add_argument("--gsd", type=gsd_option, default=None, metavar="M|native",
                        help="working ground resolution in m/px that tiles are resampled to (default: the "
                             "profile's, 0.3); 'native' keeps every tile's own resolution")
    parser.add_argument("--tile-gsd", type=stated_gsd, default=None, metavar="M",
                        help="GSD of tiles without a georeference (default: none stated, they stay native)")
    parser.add_argument("--out", required=True, type=output_folder,
                        help="run folder (model.pt, best.pt, metrics.jsonl, checkpoint.pt)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")


def build_data(args: argparse.Namespace):
    """TrainingData from the folder arguments or the project (shared by the train command and the benchmarks)."""
    from pgssl_core.errors import PgsslError
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd
    from pgssl_core.train.data import TrainingData, load_folder, split_label_fraction
    from pgssl_core.train.profiles import get_profile

    if getattr(args, "project", None):
        return _project_data(args)
    if not (args.images and args.masks):
        raise PgsslError("give --images and --masks (folders of tiles and masks), or --project DIR")

    gsd = parse_gsd_option(getattr(args, "gsd", None), get_profile(args.profile).augment.gsd_m)
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


def _project_data(args: argparse.Namespace):
    """The project's tiles as the app's Train page plans them (same seed, same limits)."""
    from pgssl_core.catalog import Project
    from pgssl_core.errors import PgsslError
    from pgssl_core.project.data_plan import training_data_from_project

    if args.images or args.masks or args.manifest or args.label_fraction is not None:
        raise PgsslError("--project reads the project's own tiles and labels; leave out --images, --masks, "
                         "--manifest and --label-fraction")
    with Project.open(args.project) as project:
        return training_data_from_project(project, seed=args.seed, max_val=args.max_val, max_pool=args.max_pool)


def run(args: argparse.Namespace) -> int:
    """Train a model under the machine-wide training lock (taken by local rank 0 under torchrun).

    Returns:
        The exit status of the training run.
    """
    from pgssl_core import distributed
    from pgssl_core.machine_lock import acquire_machine_lock, release_machine_lock
    from pgssl_core.models.device import resolve_device

    # The same machine-wide lock as the app's training jobs: one training run at a time per machine
    # (``$PGSSL_TRAIN_LOCK`` moves it), taken before any tile is read. Under torchrun the ranks of one
    # machine are one run: its local rank 0 takes the lock for all of them.
    lock = acquire_machine_lock(run_dir=args.out) if distributed.local_rank() == 0 else None
    try:
        with distributed.process_group(distributed.rank_device(resolve_device(args.device))) as dist:
            return _train(args, dist)
    finally:
        if lock is not None:
            release_machine_lock(lock)


def _train(args: argparse.Namespace, dist: DistInfo) -> int:
    from tqdm import tqdm

    from pgssl_core.distributed import broadcast_object
    from pgssl_core.io.dataclass_args import config_from_args
    from pgssl_core.train.rounds import TrainConfig, run_training

    # With --project, one reader of the project's catalog; the other ranks receive its tiles.
    data = broadcast_object(build_data(args) if dist.is_main else None) if args.project else build_data(args)
    assert data is not None  # rank 0 raised otherwise
    config = config_from_args(TrainConfig, args)
    bar = tqdm(total=0, unit="step", dynamic_ncols=True, disable=not dist.is_main)

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
    if dist.is_main:
        print(json.dumps({"model": str(result.model_path), "best": str(result.best_path) if result.best_path else None,
                          "val": result.final_val, "wall_s": round(result.wall_s, 1), "device": result.device,
                          **dist.to_dict()}))
    return 0
