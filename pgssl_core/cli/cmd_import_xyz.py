"""``python -m pgssl_core import-xyz``: imagery from a tile service the user names, as project tiles.

Plans the tiles (bounding box or a district of the project's boundaries), refuses more than ``--max-tiles``
unless ``--yes``, downloads politely with a progress bar into the disk cache, then adds every tile (or none)
to the project. Exit 0 on success; 2 with ``error: <reason>`` otherwise (the project is left as it was).
"""

from __future__ import annotations

import argparse
import sys

from pgssl_core.cli.arg_types import non_negative_float, non_negative_int, output_folder, positive_float, positive_int
from pgssl_core.errors import PgsslError

NAME = "import-xyz"
HELP = "download tiles of a tile service ({z}/{x}/{y} URL) over a bbox or district into a project (EPSG:3857)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``import-xyz`` options: URL template, zoom, area (bbox or district), project, credit, fetch limits."""
    from pgssl_core.xyz.fetch import FetchSettings
    from pgssl_core.xyz.importer import DEFAULT_MAX_TILES

    defaults = FetchSettings()
    parser.add_argument("--url", required=True, metavar="TEMPLATE",
                        help="tile URL with {z}, {x} and {y}, e.g. https://tiles.example.org/{z}/{x}/{y}.png "
                             "(a service whose terms allow this use)")
    parser.add_argument("--zoom", required=True, type=non_negative_int, metavar="Z", help="zoom level of the tiles")
    area = parser.add_mutually_exclusive_group(required=True)
    area.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"), help="WGS84 degrees")
    area.add_argument("--district", metavar="NAME", help="a district of the project's boundary file "
                                                         "(default: Beijing's 16 districts), e.g. Dongcheng")
    parser.add_argument("--project", required=True, type=output_folder, metavar="DIR",
                        help="project folder (created if it holds no project)")
    parser.add_argument("--name", default=None, help="project name when creating it (default: folder name)")
    parser.add_argument("--attribution", required=True, metavar="TEXT",
                        help="the credit line the service's terms ask for (kept in the project, shown on the map)")
    parser.add_argument("--max-tiles", type=positive_int, default=DEFAULT_MAX_TILES,
                        help=f"refuse areas of more tiles than this (default {DEFAULT_MAX_TILES})")
    parser.add_argument("--yes", action="store_true", help="confirm an area above --max-tiles")
    parser.add_argument("--rate", type=positive_float, default=defaults.rate_per_s, metavar="PER_S",
                        help=f"at most this many requests per second (default {defaults.rate_per_s:g})")
    parser.add_argument("--timeout", type=positive_float, default=defaults.timeout_s, metavar="S",
                        help=f"seconds to wait for the service (default {defaults.timeout_s:g})")
    parser.add_argument("--retries", type=non_negative_int, default=defaults.retries,
                        help="further tries of a failed request, with exponential backoff "
                             f"(default {defaults.retries})")
    parser.add_argument("--backoff", type=non_negative_float, default=defaults.backoff_s, metavar="S",
                        help=f"backoff factor: waits of S x 2^n seconds between tries (default {defaults.backoff_s:g})")
    parser.add_argument("--cache", type=output_folder, default=None, metavar="DIR",
                        help="tile cache folder (default $PGSSL_CACHE_DIR/xyz or ~/.cache/pgssl/xyz)")


def run(args: argparse.Namespace) -> int:
    """Download the XYZ tiles covering a bbox or district and add them to a project.

    The project is created only after every tile was downloaded, so a failed import leaves none behind.

    Returns:
        Exit status 0.

    Raises:
        PgsslError: empty ``--attribution``, unknown district, too many tiles without ``--yes``, or a failed download.
    """
    from tqdm import tqdm

    from pgssl_core.assess.project_boundaries import BoundaryChoice, find_district, project_boundaries
    from pgssl_core.catalog import Project
    from pgssl_core.catalog.layout import ProjectLayout
    from pgssl_core.xyz.fetch import FetchSettings, TileFetcher, public_service_name
    from pgssl_core.xyz.grid import area_tiles, bbox_tiles
    from pgssl_core.xyz.importer import add_tiles, check_cap, download_tiles, present_tiles

    settings = FetchSettings(rate_per_s=args.rate, timeout_s=args.timeout, retries=args.retries, backoff_s=args.backoff)
    if not args.attribution.strip():
        raise PgsslError("--attribution must not be empty: give the credit line the service asks for")
    exists = ProjectLayout(args.project).db_path.exists()
    # An existing project is opened for its boundaries and tiles; a new one is created only after every tile
    # has been downloaded, so a failed import leaves no empty project behind.
    project = Project.open(args.project) if exists else None
    try:
        if args.bbox is not None:
            west, south, east, north = args.bbox  # nargs=4
            plan = bbox_tiles(west, south, east, north, args.zoom)
        else:
            choice = project_boundaries(project) if project is not None else BoundaryChoice()
            name, area = find_district(choice, args.district)
            plan = area_tiles(name, area, args.zoom)
        check_cap(plan, args.max_tiles, args.yes)
        with TileFetcher(args.url, args.cache, settings) as fetcher:
            service = public_service_name(fetcher.template)
            skip = present_tiles(project, service)
            print(f"{plan.area}: {len(plan.tiles):,} tiles, {len(skip & set(plan.tiles)):,} already in the project",
                  flush=True)
            with tqdm(total=len(plan.tiles) - len(skip & set(plan.tiles)), desc="tiles", unit="tile",
                      file=sys.stderr) as bar:
                fetched = download_tiles(plan, fetcher, skip, progress=lambda *_: bar.update())
            if project is None:
                project = Project.open_or_create(args.project, args.name or args.project.resolve().name)
            added = add_tiles(project, fetched, service, args.attribution, plan.area)
            print(f"{plan.area}: {len(added)} tiles added ({fetcher.downloaded} downloaded, {fetcher.from_cache} "
                  f"from the cache); the project now has {len(project.tiles())} tiles")
    finally:
        if project is not None:
            project.close()
    return 0
