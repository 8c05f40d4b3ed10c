"""``python -m pgssl_core evaluate``: IoU/F1/precision/recall of a model on labelled tiles, as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from pgssl_core.cli.arg_types import gsd_option, model_file, positive_int, stated_gsd

NAME = "evaluate"
HELP = "evaluate a model file on tiles with masks and print JSON (iou, f1, precision, recall, tiles)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``evaluate`` options: model, image and mask folders, manifest split, GSD and device."""
    parser.add_argument("--model", required=True, type=model_file,
                        help="model file (model.pt / best.pt), or 'base' for the shipped base building model")
    parser.add_argument("--images", required=True, help="folder of image tiles")
    parser.add_argument("--masks", required=True, help="folder of binary masks with the same names")
    parser.add_argument("--manifest", help="CSV with a 'file' column (and 'split')")
    parser.add_argument("--split", default=None, help="manifest split to evaluate (e.g. test)")
    parser.add_argument("--limit", type=positive_int, default=None, help="a seeded subset of this many tiles")
    parser.add_argument("--gsd", type=gsd_option, default=None, metavar="M|native",
                        help="GSD (m/px) the tiles are resampled to before the model sees them (default: the "
                             "model's working GSD)")
    parser.add_argument("--tile-gsd", type=stated_gsd, default=None, metavar="M",
                        help="GSD of tiles without a georeference (default: none stated, they stay native)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--engine", default=None, metavar="auto|onnx|torch",
                        help="what runs the network on the CPU: auto (ONNX Runtime, PyTorch where it cannot), onnx "
                             "or torch (default: the PGSSL_ENGINE environment variable, else auto); GPUs use PyTorch")
    parser.add_argument("--adapt-bn", action="store_true",
                        help="zero-label adaptation first: re-estimate the model's BatchNorm statistics on the "
                             "evaluated images (no mask is used; the model file is not changed)")


def run(args: argparse.Namespace) -> int:
    """Evaluate a model on image/mask pairs and print its figures (IoU etc. and ``gsd_m``) as one JSON line.

    Returns:
        Exit status 0.
    """
    from pgssl_core.models import load_model
    from pgssl_core.models.device import prepare_module, resolve_device
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd
    from pgssl_core.train.data import TensorSet, load_folder
    from pgssl_core.train.metrics import evaluate_tensors

    device = resolve_device(args.device)
    model, config, _ = load_model(args.model, device, engine=args.engine)
    gsd = parse_gsd_option(args.gsd, config.gsd_m)
    samples = load_folder(args.images, args.masks, args.manifest, args.split, limit=args.limit,
                          working_gsd_m=gsd, stated_gsd_m=parse_stated_gsd(args.tile_gsd))
    if args.adapt_bn:
        from pgssl_core.models.adapt_bn import ADAPT_ALPHA, adapt_to_tiles

        model = adapt_to_tiles(model, config, [s["image"] for s in samples], device=device)
        print(f"note: --adapt-bn: BatchNorm statistics re-estimated on the {len(samples)} evaluated images, "
              f"weight {ADAPT_ALPHA:g} against the model's own (no labels used; the model file is unchanged)",
              file=sys.stderr)
    figures = evaluate_tensors(prepare_module(model, device), config, TensorSet.from_samples(samples), device)
    print(json.dumps({**figures, "gsd_m": gsd, **({"adapt_bn": True} if args.adapt_bn else {})}))
    return 0
