"""Benchmark of the HTML report export (``python -m pgssl_core report`` / the Map page's button).

Cases:
  - ``beijing_demo``: the Beijing demo project as shipped (reference-mask layers of its 64 synthetic
    tiles, 16 districts), i.e. what the button does on the demo;
  - ``footprints_2000``: the same project with its footprints repeated to ``--footprints`` (as in
    ``benchmarks/map_render.py``: copies shifted by k x 3 m inside their tiles), as a layers folder.
Measured per case (seconds): ``first_s`` (first export in a fresh process: pvlib clear-sky years not
cached yet), ``median_s`` over ``--repeat`` further exports (``median_cpu_s``: this process's CPU time, which a
busy machine inflates less than the wall time), and the split of one export into
``gather_s`` (assessment, district and building join, PV) and ``render_s`` (static map PNG, label-budget
image, HTML); ``html_bytes``. The reference layers themselves are built once before timing (the app
caches them too). Run: ``.venv/bin/python benchmarks/report_export.py`` (writes
``benchmarks/results/report_export.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.map_render import _more_footprints  # noqa: E402
from pgssl_core.assess import write_vector  # noqa: E402
from pgssl_core.catalog import Project  # noqa: E402
from pgssl_core.demo.projects import ensure_default_projects  # noqa: E402
from pgssl_core.io import atomic_write_json  # noqa: E402
from pgssl_core.project.predict import MANIFEST_FILE, ProjectMaps, read_layers, reference_footprints  # noqa: E402
from pgssl_core.report import export_report  # noqa: E402
from pgssl_core.report.gather import gather_report  # noqa: E402
from pgssl_core.report.html import render_report  # noqa: E402


def _layers_with(maps: ProjectMaps, n: int, folder: Path) -> Path:
    """A layers folder like ``maps`` whose footprints are repeated to ``n``."""
    footprints, extents = read_layers(maps)
    more = _more_footprints(footprints, n)
    folder.mkdir(parents=True, exist_ok=True)
    write_vector(more, folder / "footprints.gpkg", "footprints")
    write_vector(extents, folder / "extents.gpkg", "extents")
    atomic_write_json(folder / MANIFEST_FILE, {**maps.manifest, "footprints": len(more), "finished": time.time()})
    return folder


def _case(project_dir: Path, maps_dir: Path, out: Path, repeat: int) -> dict:
    start = time.perf_counter()
    data = export_report(project_dir, out, maps_dir)
    first = time.perf_counter() - start
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        export_report(project_dir, out, maps_dir)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    from pgssl_core.project.predict import load_project_maps

    with Project.open(project_dir) as project:
        start = time.perf_counter()
        gathered = gather_report(project, load_project_maps(maps_dir))
        gather_s = time.perf_counter() - start
    start = time.perf_counter()
    html = render_report(gathered)
    render_s = time.perf_counter() - start
    return {"footprints": len(data.buildings), "districts": len(data.districts), "first_s": round(first, 2),
            "median_s": round(statistics.median(times), 2), "median_cpu_s": round(statistics.median(cpu), 2),
            "runs": repeat, "gather_s": round(gather_s, 2),
            "render_s": round(render_s, 2), "html_bytes": len(html.encode("utf-8"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footprints", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "report_export.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        beijing = ensure_default_projects(Path(tmp))[0]
        with Project.open(beijing) as project:
            maps = reference_footprints(project, beijing / "maps" / "reference")
        cases = {"beijing_demo": _case(beijing, maps.out_dir, Path(tmp) / "demo.html", args.repeat)}
        more = _layers_with(maps, args.footprints, Path(tmp) / f"maps_{args.footprints}")
        cases[f"footprints_{args.footprints}"] = _case(beijing, more, Path(tmp) / "more.html", args.repeat)

    result = {**cases, "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                   "cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2)}}
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
