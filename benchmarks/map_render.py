"""Benchmark of the Map page's heavy steps: 16 districts and 2,000 footprints.

Input: the Beijing demo's reference footprints (ground truth of the 64 synthetic tiles), repeated
with small offsets (each copy moved by a multiple of 3 m, inside its tile) until there are
``--footprints`` of them; the 16 Beijing districts; the 64 tile overlays.
Measured (median of ``--repeat`` runs, seconds):
  - ``prepare_s``: district join + imaged areas + 100 m density grid (cached by the page)
  - ``pv_recompute_share_s`` / ``pv_recompute_tilt_s``: the work of a slider move (a new usable
    roof share; a new tilt never seen before, which needs new pvlib transpositions)
  - ``build_map_s``: folium map construction (all layers, legends, layer control)
  - ``render_html_s`` and ``html_bytes``: the HTML that ``st_folium`` sends to the browser
    (``Figure.render()``, which is what streamlit-folium serialises)
Run: ``.venv/bin/python benchmarks/map_render.py`` (writes ``benchmarks/results/map_render.json``).
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

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from app.map_overlays import tile_overlays  # noqa: E402
from app.mapview import MapData, build_map  # noqa: E402
from pgssl_core.assess import PVAssumptions  # noqa: E402
from pgssl_core.catalog import Project  # noqa: E402
from pgssl_core.demo.projects import ensure_default_projects  # noqa: E402
from pgssl_core.io import atomic_write_json  # noqa: E402
from pgssl_core.project.assessment import prepare_assessment  # noqa: E402
from pgssl_core.project.predict import read_layers, reference_footprints  # noqa: E402


def _timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _more_footprints(fp: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """``n`` footprints: the originals plus copies shifted by k x 3 m east (in UTM), clipped to none."""
    utm = fp.to_crs(fp.estimate_utm_crs())
    parts, k = [utm], 1
    while sum(len(p) for p in parts) < n:
        parts.append(utm.assign(geometry=shapely.transform(utm.geometry.to_numpy(), lambda xy, k=k: xy + [3.0 * k, 0])))
        k += 1
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=utm.crs).iloc[:n]
    return out.to_crs(4326)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footprints", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "map_render.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        beijing = ensure_default_projects(Path(tmp))[0]
        with Project.open(beijing) as project:
            maps = reference_footprints(project, Path(tmp) / "ref")
            overlays, total = tile_overlays(project)
        footprints, extents = read_layers(maps)
        footprints = _more_footprints(footprints, args.footprints)

        prepare_s, prepared = _timed(lambda: prepare_assessment(footprints, extents, "beijing"), 1)
        base = PVAssumptions()
        share_s, _ = _timed(lambda: prepared.with_assumptions(base.with_values(usable_roof_share=0.6)), args.repeat)
        tilts = iter([33.0, 27.0, 36.0, 24.0, 21.0, 39.0, 18.0])  # each one new to the pvlib cache
        tilt_s, view = _timed(lambda: prepared.with_assumptions(base.with_values(tilt_deg=next(tilts))), args.repeat)
        data = MapData(view.table, view.grid, footprints, overlays, total, "benchmark")
        build_s, m = _timed(lambda: build_map(data, "generation_gwh"), args.repeat)
        render_s, html = _timed(lambda: m.get_root().render(), args.repeat)

    result = {
        "districts": len(view.table), "footprints": len(footprints), "tile_overlays": len(overlays),
        "grid_cells": len(view.grid), "prepare_s": round(prepare_s, 3),
        "pv_recompute_share_s": round(share_s, 4), "pv_recompute_tilt_s": round(tilt_s, 4),
        "build_map_s": round(build_s, 3), "render_html_s": round(render_s, 3),
        "map_total_s": round(build_s + render_s, 3), "html_bytes": len(html.encode("utf-8")),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
    }
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
