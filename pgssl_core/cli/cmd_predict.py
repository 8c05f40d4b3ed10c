"""``python -m pgssl_core predict``: building probability (or mask) GeoTIFFs for rasters, optional footprints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pgssl_core.errors import PgsslError

NAME = "predict"
HELP = "predict building probability/mask GeoTIFFs over rasters (file or folder) with a model file"
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".webp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model file (pgssl-model/1, from training)")
    parser.add_argument("--input", required=True, type=Path, help="a GeoTIFF (or georeferenced PNG/JPEG/WebP) or a folder of them")
    parser.add_argument("--out", required=True, type=Path, help="output folder for <name>_<output>.tif")
    parser.add_argument("--polygons", type=Path, help="also write footprints (.gpkg or .geojson, WGS84)")
    parser.add_argument("--output", choices=("probability", "mask"), default="probability")
    parser.add_argument("--threshold", type=float, default=0.5, help="building probability threshold (0..1)")
    parser.add_argument("--tile", type=int, default=512, help="window size in px")
    parser.add_argument("--overlap", type=int, default=64, help="window overlap in px")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--tta", action="store_true", help="average over flips (3x slower)")
    parser.add_argument("--cog", action="store_true", help="write Cloud-Optimized GeoTIFFs")
    parser.add_argument("--gsd", default=None, metavar="M|native",
                        help="working GSD (m/px) the inputs are resampled to (default: the model's own); "
                             "outputs are always on the input's grid")
    parser.add_argument("--tile-gsd", default=None, metavar="M",
                        help="GSD of inputs without a georeference (default: none stated, they stay native)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    parser.add_argument("--min-area", type=float, default=4.0, help="smallest footprint kept, m2")
    parser.add_argument("--simplify", type=float, default=0.5, help="footprint simplification tolerance, m")
    parser.add_argument("--regularize", action="store_true", help="square footprint corners")


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from pgssl_core.assess import footprints_and_extents, list_rasters, write_footprints
    from pgssl_core.infer import predict_raster
    from pgssl_core.models import load_model
    from pgssl_core.tiles import read_tile
    from pgssl_core.tiles.gsd import parse_gsd_option, parse_stated_gsd
    from pgssl_core.tiles.regions import predict_geotiff
    from pgssl_core.tiles.validate import validate_inputs

    listed = list_rasters(args.input, IMAGE_SUFFIXES)
    if args.polygons is not None and args.polygons.suffix.lower() not in (".gpkg", ".geojson", ".json"):
        raise PgsslError(f"--polygons must end in .gpkg or .geojson, got {args.polygons.name}")
    # The checks import and inspect run, on every input before the model is loaded; bad files are
    # named and left out, the others go on (exit 1 at the end, as `import` does).
    inputs, refused = validate_inputs(listed, need_georef=args.polygons is not None, purpose="--polygons",
                                      report=lambda message: print(f"error: {message}", file=sys.stderr))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, config, _ = load_model(args.model, device)
    gsd = parse_gsd_option(args.gsd, "model")
    stated = parse_stated_gsd(args.tile_gsd)
    outputs = []
    for i, path in enumerate(inputs, 1):
        dst = args.out / f"{path.stem}_{args.output}.tif"
        with tqdm(desc=f"[{i}/{len(inputs)}] {path.name}", unit="win", file=sys.stderr) as bar:
            def progress(done: int, total: int, bar=bar) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            # GeoTIFFs are read window by window; plain images (world file / XYZ name) are small, read whole.
            def predict_one(src, out, progress=progress):
                return predict_raster(model, config, src, out, tile=args.tile, overlap=args.overlap,
                                      batch_size=args.batch_size, tta=args.tta, output=args.output,
                                      threshold=args.threshold, cog=args.cog, device=device, progress=progress,
                                      gsd_m=gsd, stated_gsd_m=stated)

            if path.suffix.lower() in (".tif", ".tiff"):  # sparse GeoTIFFs: only their data regions
                summary, note = predict_geotiff(path, dst, predict_one)
            else:
                summary, note = predict_one(read_tile(path), dst), ""
        share = summary.building_pixels / max(summary.valid_pixels, 1)
        print(f"{dst}: {summary.width} x {summary.height} px, {share:.1%} building{note}")
        outputs.append(dst)
    if args.polygons is not None:
        with tqdm(total=len(outputs), desc="footprints", unit="raster", file=sys.stderr) as bar:
            footprints, _ = footprints_and_extents(outputs, args.threshold, args.min_area, args.simplify,
                                                   args.regularize, progress=lambda _: bar.update())
        write_footprints(gpd.GeoDataFrame(pd.DataFrame(footprints), crs=footprints.crs), args.polygons)
        print(f"{args.polygons}: {len(footprints)} footprints, {footprints['area_m2'].sum():,.0f} m2")
    return 1 if refused else 0
