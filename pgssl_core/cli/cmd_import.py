"""``python -m pgssl_core import PATH... --project DIR``: add image files or folders to a project.

Prints one line per file (added, split into N tiles, or the error) and a summary. Exit codes:
0 = every file was added; 1 = some files were refused but at least one was added;
2 = nothing was added (every file refused, or no image files found).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pgssl_core.catalog import ImportResult, Project, expand_paths, import_paths
from pgssl_core.cli.arg_types import output_folder, positive_int
from pgssl_core.errors import PgsslError
from pgssl_core.tiles.formats import IMAGE_SUFFIXES

NAME = "import"
HELP = "add image files or folders (GeoTIFF, PNG, JPEG, WebP) to a project; large rasters are split"

EXIT_OK = 0
EXIT_SOME_REFUSED = 1


def _band_map(text: str) -> tuple[int, ...]:
    try:
        bands = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bands {text!r}: expected 1-based band numbers like 3,2,1") from None
    if len(bands) not in (1, 3) or min(bands) < 1:
        raise argparse.ArgumentTypeError(f"--bands {text!r}: give 1 or 3 band numbers, each >= 1")
    return bands


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``import`` options: paths, project folder and name, tile size and band map."""
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders (recursive)")
    parser.add_argument("--project", required=True, type=output_folder, metavar="DIR",
                        help="project folder (created if it holds no project)")
    parser.add_argument("--name", default=None, help="project name when creating it (default: folder name)")
    parser.add_argument("--tile-size", type=positive_int, default=512, metavar="PX",
                        help="rasters larger than this on either side are split into tiles (default 512)")
    parser.add_argument("--bands", "--band-map", dest="bands", type=_band_map, default=None, metavar="R,G,B",
                        help="1-based bands to show as R,G,B (or one band as grey); default: the file's RGB")


def _summary(results: list[ImportResult], total_tiles: int) -> str:
    added = sum(1 for r in results if r.status == "added")
    split = [r for r in results if r.status == "split"]
    refused = sum(1 for r in results if r.status == "error")
    pieces = sum(len(r.tile_ids) for r in split)
    return (f"{len(results)} files: {added} added, {len(split)} split into {pieces} tiles, {refused} refused; "
            f"the project now has {total_tiles} tiles")


def _line(result: ImportResult, shown_as: str) -> str:
    """The result's line; a split of a sparse raster also says how much of it held data."""
    line = result.line(shown_as)
    _, _, sparse_note = (result.message or "").partition("; ")  # "N tiles of ...; data in x% ..."
    return f"{line} ({sparse_note})" if result.status == "split" and sparse_note else line


def run(args: argparse.Namespace) -> int:
    """Import image files into a project (created if needed), printing one line per file and a summary.

    Returns:
        :data:`EXIT_OK` (0) if every file was imported, :data:`EXIT_SOME_REFUSED` (1) if some were refused.

    Raises:
        PgsslError: ``--tile-size`` below 32 px, no image files found, or none of the files could be imported.
    """
    if args.tile_size < 32:
        raise PgsslError(f"--tile-size {args.tile_size} is too small: use at least 32 px")
    files = expand_paths(args.paths)
    if not files:
        raise PgsslError(f"no image files found in the given folders (looked for {', '.join(IMAGE_SUFFIXES)})")
    with Project.open_or_create(args.project, args.name or args.project.resolve().name) as project:
        results = import_paths(project, files, tile_size=args.tile_size, band_map=args.bands,
                               progress=lambda done, total, r: print(_line(r, str(files[done - 1])), flush=True))
        total_tiles = len(project.tiles())
    print(_summary(results, total_tiles))
    if all(r.ok for r in results):
        return EXIT_OK
    if any(r.ok for r in results):
        return EXIT_SOME_REFUSED
    raise PgsslError(f"none of the {len(results)} files could be imported")
