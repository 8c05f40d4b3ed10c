"""``python -m pgssl_core predict``: building probability (or mask) GeoTIFFs for rasters, optional footprints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pgssl_core.cli.arg_types import (
    gsd_option,
    model_file,
    non_negative_float,
    non_negative_int,
    output_file,
    output_folder,
    positive_int,
    stated_gsd,
)
from pgssl_core.errors import PgsslError
from pgssl_core.infer.settings import BAND_MIN_PX, PredictSettings
from pgssl_core.tiles.formats import IMAGE_SUFFIXES
from pgssl_core.tiles.prediction_format import OUTPUTS

NAME = "predict"
HELP = "predict building probability/mask GeoTIFFs over rasters (file or folder) with a model file"
DEFAULTS = PredictSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``predict`` options: model, inputs, outputs, windowing, GSD, device, footprints and resume."""
    parser.add_argument("--model", required=True, type=model_file,
                        help="model file (pgssl-model/1, from training), or 'base' for the shipped base building model")
    parser.add_argument("--input", required=True, type=Path,
                        help="a GeoTIFF (or georeferenced PNG/JPEG/WebP), a folder of them, or a .txt list of paths: "
                             "one per line, '#' starts a comment, relative paths are read from the list file's "
                             "folder (not the current one); listed files that are missing are named and skipped")
    parser.add_argument("--out", required=True, type=output_folder, help="output folder for <name>_<output>.tif")
    parser.add_argument("--polygons", type=output_file, help="also write footprints (.gpkg or .geojson, WGS84)")
    parser.add_argument("--output", choices=OUTPUTS, default="probability")
    parser.add_argument("--threshold", type=float, default=DEFAULTS.threshold,
                        help="building probability threshold (0..1)")
    parser.add_argument("--window", type=positive_int, default=None,
                        help=f"sliding-window side in px (default {DEFAULTS.window})")
    parser.add_argument("--tile", type=positive_int, default=None, help="deprecated: the old name of --window")
    parser.add_argument("--overlap", type=non_negative_int, default=DEFAULTS.overlap,
                        help=f"window overlap in px (default {DEFAULTS.overlap})")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size, help="windows per forward pass")
    parser.add_argument("--tta", action="store_true", help="average over flips (3x slower)")
    parser.add_argument("--cog", action="store_true", help="write Cloud-Optimized GeoTIFFs")
    parser.add_argument("--gsd", type=gsd_option, default=None, metavar="M|native",
                        help="working GSD (m/px) the inputs are resampled to (default: the model's own); "
                             "outputs are always on the input's grid")
    parser.add_argument("--tile-gsd", type=stated_gsd, default=None, metavar="M",
                        help="GSD of inputs without a georeference (default: none stated, they stay native)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    parser.add_argument("--engine", default=None, metavar="auto|onnx|torch",
                        help="what runs the network on the CPU: auto (ONNX Runtime, PyTorch where it cannot), onnx "
                             "or torch (default: the PGSSL_ENGINE environment variable, else auto); GPUs use PyTorch")
    parser.add_argument("--min-area", type=non_negative_float, default=4.0, help="smallest footprint kept, m2")
    parser.add_argument("--simplify", type=non_negative_float, default=0.5,
                        help="footprint simplification tolerance, m")
    parser.add_argument("--regularize", action="store_true", help="square footprint corners")
    parser.add_argument("--adapt-bn", action="store_true",
                        help="zero-label adaptation first: re-estimate the model's BatchNorm statistics on random "
                             "crops of the inputs at the working GSD (no labels; the model file is not changed); "
                             "for imagery unlike the model's training data")
    parser.add_argument("--resume", action="store_true",
                        help="skip inputs whose output already exists (outputs are written atomically: one that "
                             "exists is complete), e.g. to restart a killed run")
    parser.add_argument("--band-min-mpx", type=non_negative_float, default=BAND_MIN_PX / 1e6, metavar="MPX",
                        help="under torchrun, GeoTIFFs of at least this many megapixels are split into row bands "
                             f"across the ranks (default {BAND_MIN_PX / 1e6:g}); smaller inputs are shared out whole")


def run(args: argparse.Namespace) -> int:
    """Predict every input raster (sharded over ranks under torchrun) and write GeoTIFFs and optional footprints.

    Returns:
        0 if every input was predicted, 1 if some were skipped: refused by the input checks, or named by a
        ``.txt`` list but missing. Each skipped input is named when found and again in a last summary line;
        the others are predicted (as ``import`` adds the files it can).

    Raises:
        PgsslError: a ``--polygons`` path that is not .gpkg/.geojson, or an unknown
            ``--device`` (or cuda without a GPU).
    """
    from pgssl_core import distributed
    from pgssl_core.assess import list_rasters
    from pgssl_core.models.device import resolve_device
    from pgssl_core.tiles.validate import validate_inputs

    listed = list_rasters(args.input, IMAGE_SUFFIXES, keep_missing=True)
    if args.polygons is not None and args.polygons.suffix.lower() not in (".gpkg", ".geojson", ".json"):
        raise PgsslError(f"--polygons must end in .gpkg or .geojson, got {args.polygons.name}")
    launched = distributed.launched_world_size() > 1
    speaks = not launched or distributed.local_rank() == 0  # one voice per machine under torchrun

    def report(message: str) -> None:
        if speaks:
            print(f"error: {message}", file=sys.stderr)

    # A list naming a file that is gone skips that file, not the run; then the checks import and inspect
    # run, on every input before the model is loaded: bad files are named and left out, the others go on.
    missing = [path for path in listed if not path.exists()]
    for path in missing:
        report(f"{args.input.name} names {path}, which does not exist (relative paths are read from the list's "
               "folder)")
    if len(missing) == len(listed):
        raise PgsslError(f"none of the {len(listed)} files {args.input.name} names exists")
    inputs, refused = validate_inputs([p for p in listed if p.exists()], need_georef=args.polygons is not None,
                                      purpose="--polygons", report=report)
    device = resolve_device(args.device or "auto")  # unknown names and cuda without a GPU: one-line errors
    with distributed.process_group(device) as info:
        _predict(args, inputs, str(distributed.rank_device(device)), info)
    skipped = missing + [path for path, _ in refused]
    if skipped:
        more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        report(f"{len(skipped)} of {len(listed)} inputs skipped (see above), the others were predicted: "
               f"{', '.join(p.name for p in skipped[:10])}{more}")
    return 1 if skipped else 0


def _predict(args: argparse.Namespace, inputs: list[Path], device: str, info) -> None:
    """The one call (:func:`pgssl_core.project.predict_inputs.predict_inputs`) and its lines for people. Under
    torchrun rank 0 also prints the summary; its last line on stdout is the JSON record (``world_size``, the
    rasters each rank wrote, px/s)."""
    import json

    from pgssl_core.cli.progress import counted_bar
    from pgssl_core.infer.sharded import summary
    from pgssl_core.project.predict_inputs import FootprintOptions, predict_inputs
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd

    window = args.window or args.tile or DEFAULTS.window  # --tile: the window's old name, still accepted
    settings = PredictSettings(window, args.overlap, args.batch_size, args.tta, args.output, args.threshold,
                               args.cog, device, parse_gsd_option(args.gsd, "model"), parse_stated_gsd(args.tile_gsd),
                               args.engine)
    footprints = None if args.polygons is None else FootprintOptions(args.polygons, args.min_area, args.simplify,
                                                                     args.regularize)
    run = predict_inputs(args.model, inputs, args.out, settings, footprints, args.adapt_bn, args.resume,
                         round(args.band_min_mpx * 1e6), lambda label: counted_bar(label, "window"),
                         lambda line: print(line, flush=True))
    if not info.is_main:
        return
    if footprints is not None:
        print(f"{footprints.path}: {run.footprints} footprints, {run.footprint_m2:,.0f} m2")
    if info.distributed:
        lines, record = summary(run.reports, run.wall_s)
        print("\n".join(lines))
        print(json.dumps(record), flush=True)
