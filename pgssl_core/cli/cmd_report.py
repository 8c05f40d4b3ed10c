"""``python -m pgssl_core report``: a project's self-contained HTML report (the Map page's button calls the same)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pgssl_core.cli.arg_types import output_file

NAME = "report"
HELP = "self-contained HTML report of a project: map, districts with ranges, largest roofs, assumptions, model card"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` options: project, output HTML, prediction folder, CSV copy, districts and device."""
    parser.add_argument("--project", required=True, type=Path, help="project folder")
    parser.add_argument("--out", required=True, type=output_file, help="report file (.html)")
    parser.add_argument("--maps", type=Path,
                        help="a prediction's output folder to report (default: newest finished prediction, "
                             "else the reference masks)")
    parser.add_argument("--csv-out", type=output_file, help="also write the district table the report shows (.csv)")
    parser.add_argument("--districts", default=None,
                        help="'beijing' or a boundary file (default: the project's own, uploaded on the Map page, "
                             "else Beijing's; the imaged area as one row where they do not cover the tiles)")
    parser.add_argument("--device", default=None, help="device for measuring the model error (default: cpu)")


def run(args: argparse.Namespace) -> int:
    """Export a project's HTML report and print a one-line summary (warnings on stderr).

    Returns:
        Exit status 0.
    """
    from pgssl_core.report import export_report

    start = time.perf_counter()
    data = export_report(args.project, args.out, args.maps, csv_out=args.csv_out, districts=args.districts,
                         device=args.device)
    print(f"{args.out}: report of {data.project_name!r}, {len(data.buildings):,} buildings, "
          f"{len(data.districts)} districts; model error: {data.correction.status} "
          f"({time.perf_counter() - start:.1f} s)")
    if data.district_note:
        print(f"warning: {data.district_note}", file=sys.stderr)
    return 0
