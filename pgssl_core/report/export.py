"""One call for the CLI and the Map page's button: a project folder in, a report file out."""

from __future__ import annotations

import os
from pathlib import Path

from pgssl_core.assess.districts import write_district_csv
from pgssl_core.assess.pv import PVAssumptions
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_bytes
from pgssl_core.project.predict import load_project_maps
from pgssl_core.report.gather import ReportData, gather_report
from pgssl_core.report.html import render_report


def export_report(project_dir: str | os.PathLike[str], out: str | os.PathLike[str],
                  maps_dir: str | os.PathLike[str] | None = None, assumptions: PVAssumptions | None = None,
                  csv_out: str | os.PathLike[str] | None = None, districts=None,
                  device: str | None = None) -> ReportData:
    """Write the HTML report of the project in ``project_dir`` to ``out`` (atomically).

    ``maps_dir``: the building layers to report (a prediction's output folder; default: the newest
    finished prediction, else the reference masks). ``csv_out``: also write the district table with
    its corrected columns, the figures the report shows. ``districts``: see ``gather_report`` (None: the
    project's own). Returns what was reported. Raises PgsslError
    for a missing project, a wrong suffix or nothing to report.
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise PgsslError(f"the report is an HTML file: --out must end in .html, got {out.name}")
    root = Path(project_dir)
    maps = None
    if maps_dir is not None:
        maps = load_project_maps(maps_dir)
        if maps is None:
            raise PgsslError(f"{maps_dir} holds no finished prediction (no manifest.json)")
    with Project.open(root) as project:
        data = gather_report(project, maps, assumptions, districts=districts, device=device)
    atomic_write_bytes(out, render_report(data).encode("utf-8"))
    if csv_out is not None and data.assessment.report is not None:
        write_district_csv(data.assessment.report, csv_out)
    return data
