"""``python -m pgssl_core demo``: create the demo projects (SYNTHETIC Beijing scene, real OAM sample)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pgssl_core.cli.arg_types import output_folder, positive_int

NAME = "demo"
HELP = "create the demo projects: the SYNTHETIC Beijing scene and/or the real OpenAerialMap sample"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options: output folder, which project(s), scene size and seed."""
    parser.add_argument("--out", type=output_folder, required=True, help="folder that receives <slug>/ project folders")
    parser.add_argument("--which", choices=("beijing", "sample", "both"), default="both",
                        help="which demo project(s) to create (default: both)")
    parser.add_argument("--tiles-per-district", type=positive_int, default=4,
                        help="synthetic tiles per Beijing district (16 districts; default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic scene (default 0)")


def run(args: argparse.Namespace) -> int:
    """Create the chosen projects with a progress bar on stderr; print one line per project."""
    # Imported here so that `python -m pgssl_core --help` never pays for (or fails on) the catalog.
    from pgssl_core.cli.progress import counted_bar
    from pgssl_core.demo import projects

    jobs = []
    if args.which in ("beijing", "both"):
        jobs.append((projects.BEIJING_SLUG, "Beijing (SYNTHETIC)",
                     lambda root, cb: projects.create_beijing_demo_project(root, args.tiles_per_district, args.seed,
                                                                           progress=cb)))
    if args.which in ("sample", "both"):
        jobs.append((projects.OAM_SLUG, "OAM sample", lambda root, cb: projects.create_oam_sample_project(root, cb)))
    for slug, label, make in jobs:
        root = Path(args.out) / slug
        existed = projects.read_demo_marker(root) is not None
        with counted_bar(label, "tile", disable=existed) as progress:
            make(root, progress)
        marker = projects.read_demo_marker(root) or {}
        state = "already there" if existed else "created"
        print(f"{state}: {root} - {marker.get('name', slug)}, {marker.get('n_tiles', '?')} tiles")
    return 0
