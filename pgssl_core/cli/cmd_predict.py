"""``python -m pgssl_core predict``: building probability (or mask) GeoTIFFs for rasters, optional footprints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

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
from pgssl_core.tiles.formats import GEOTIFF_SUFFIXES, IMAGE_SUFFIXES
from pgssl_core.tiles.prediction_format import OUTPUTS

NAME = "predict"
HELP = "predict building probability/mask GeoTIFFs over rasters (file or folder) with a model file"
#: Under torchrun, GeoTIFFs of at least this many source pixels are split into row bands across the ranks:
#: about a 10,000 x 10,000 px orthophoto, minutes of work for one process even on a GPU.
BAND_MIN_PX: int = 100_000_000


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
    parser.add_argument("--threshold", type=float, default=0.5, help="building probability threshold (0..1)")
    parser.add_argument("--tile", type=positive_int, default=512, help="window size in px")
    parser.add_argument("--overlap", type=non_negative_int, default=64, help="window overlap in px")
    parser.add_argument("--batch-size", type=positive_int, default=4)
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
    if launched:
        with distributed.process_group(device) as info:
            _run_sharded(args, inputs, distributed.rank_device(device), info)
    else:
        _run_single(args, inputs, str(device))
    skipped = missing + [path for path, _ in refused]
    if skipped:
        more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        report(f"{len(skipped)} of {len(listed)} inputs skipped (see above), the others were predicted: "
               f"{', '.join(p.name for p in skipped[:10])}{more}")
    return 1 if skipped else 0


def _predict_function(args: argparse.Namespace, device: str, inputs: list[Path]):
    """``predict(input, output) -> PredictionSummary`` with the command's options (as in one process);
    ``inputs`` (all of the run's, on every rank) are what ``--adapt-bn`` adapts the model to."""
    from pgssl_core.cli.progress import counted_bar
    from pgssl_core.infer import predict_raster
    from pgssl_core.models import load_model
    from pgssl_core.tiles import read_tile
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd
    from pgssl_core.tiles.regions import predict_geotiff

    model, config, _ = load_model(args.model, device, engine=args.engine)
    gsd = parse_gsd_option(args.gsd, "model")
    stated = parse_stated_gsd(args.tile_gsd)
    if args.adapt_bn:
        model = _adapted(model, config, inputs, gsd, stated, device)

    def predict(path: Path, dst: Path, label: str = ""):
        with counted_bar(f"{label}{path.name}", "window") as progress:
            # GeoTIFFs are read window by window; plain images (world file / XYZ name) are small, read whole.
            def predict_one(src, out, progress=progress):
                return predict_raster(model, config, src, out, tile=args.tile, overlap=args.overlap,
                                      batch_size=args.batch_size, tta=args.tta, output=args.output,
                                      threshold=args.threshold, cog=args.cog, device=device, progress=progress,
                                      gsd_m=gsd, stated_gsd_m=stated)

            if path.suffix.lower() in GEOTIFF_SUFFIXES:  # sparse GeoTIFFs: only their data regions
                return predict_geotiff(path, dst, predict_one)
            return predict_one(read_tile(path), dst), ""

    return predict, model, config, gsd, stated


def _adapted(model, config, inputs: list[Path], gsd, stated, device: str):
    """``model`` with its BatchNorm statistics re-estimated on crops of ``inputs`` (``--adapt-bn``); one line
    on stderr says so (from one process per machine under torchrun: every rank adapts the same way)."""
    from pgssl_core import distributed
    from pgssl_core.models.adapt_bn import ADAPT_ALPHA
    from pgssl_core.project.adapted_model import adapt_to_rasters

    adapted, crops = adapt_to_rasters(model, config, inputs, gsd, stated, device=device)
    if distributed.launched_world_size() <= 1 or distributed.local_rank() == 0:
        print(f"note: --adapt-bn: BatchNorm statistics re-estimated on {crops} crops of {len(inputs)} inputs, "
              f"weight {ADAPT_ALPHA:g} against the model's own (no labels used; the model file is unchanged)",
              file=sys.stderr)
    return adapted


def _run_single(args: argparse.Namespace, inputs: list[Path], device: str) -> None:
    from tqdm import tqdm

    from pgssl_core.assess import footprints_and_extents

    predict, *_ = _predict_function(args, device, inputs)
    outputs = []
    for i, path in enumerate(inputs, 1):
        dst = args.out / f"{path.stem}_{args.output}.tif"
        outputs.append(dst)
        if args.resume and dst.exists():
            print(f"{dst}: exists, skipped (--resume)")
            continue
        summary, note = predict(path, dst, f"[{i}/{len(inputs)}] ")
        share = summary.building_pixels / max(summary.valid_pixels, 1)
        print(f"{dst}: {summary.width} x {summary.height} px, {share:.1%} building{note}")
    if args.polygons is not None:
        with tqdm(total=len(outputs), desc="footprints", unit="raster", file=sys.stderr) as bar:
            footprints, _ = footprints_and_extents(outputs, args.threshold, args.min_area, args.simplify,
                                                   args.regularize, progress=lambda _: bar.update())
        _write_polygons(args.polygons, footprints)


def _write_polygons(path: Path, footprints) -> None:
    from pgssl_core.assess import write_footprints

    write_footprints(gpd.GeoDataFrame(pd.DataFrame(footprints), crs=footprints.crs), path)
    print(f"{path}: {len(footprints)} footprints, {footprints['area_m2'].sum():,.0f} m2")


def _run_sharded(args: argparse.Namespace, inputs: list[Path], device, info) -> None:
    """The torchrun path: see :mod:`pgssl_core.infer.sharded`. Rank 0 prints the summary; its last line on
    stdout is the JSON record (``world_size``, the rasters each rank wrote, px/s)."""
    import json
    import time

    from pgssl_core.assess.inputs import raw_outlines
    from pgssl_core.infer.sharded import PredictSettings, predict_sharded, summary
    from pgssl_core.project.sharded_footprints import joined_footprints

    started = time.perf_counter()
    predict, model, config, gsd, stated = _predict_function(args, str(device), inputs)
    settings = PredictSettings(args.tile, args.overlap, args.batch_size, args.tta, args.output, args.threshold,
                               str(device), gsd, stated)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(path, args.out / f"{path.stem}_{args.output}.tif") for path in inputs]
    if len({dst for _, dst in jobs}) < len(jobs):
        raise PgsslError("two inputs have the same file name: their outputs would collide in --out")
    reports = predict_sharded(model, config, jobs, settings,
                              lambda src, dst: predict(src, dst, f"rank {info.rank}: "),
                              band_min_px=round(args.band_min_mpx * 1e6), resume=args.resume,
                              outline=raw_outlines if args.polygons is not None else None,
                              report_line=lambda line: print(line, flush=True))
    if not info.is_main:
        return
    if args.polygons is not None:
        footprints, _ = joined_footprints(reports, args.min_area, args.simplify, args.regularize)
        _write_polygons(args.polygons, footprints)
    lines, record = summary(reports, time.perf_counter() - started)
    print("\n".join(lines))
    print(json.dumps(record), flush=True)
