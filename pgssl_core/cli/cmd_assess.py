"""``python -m pgssl_core assess``: district statistics and rooftop-PV potential as CSV, density grid."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pgssl_core.cli.arg_types import non_negative_float, output_file, positive_float
from pgssl_core.errors import PgsslError

NAME = "assess"
HELP = "per-district buildings, coverage and rooftop-PV potential (CSV) from footprints or prediction rasters"

# CLI flag -> PVAssumptions field.
PV_FLAGS = {"annual_ghi": "annual_ghi_kwh_m2", "tilt": "tilt_deg", "azimuth": "azimuth_deg",
            "usable_share": "usable_roof_share", "efficiency": "module_efficiency", "losses": "system_losses",
            "emission_factor": "emission_factor_t_mwh"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``assess`` options: footprint source, districts, outputs, model error and PV assumptions."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--buildings", type=Path, help="footprints file (.gpkg/.geojson/zipped .shp)")
    src.add_argument("--masks", type=Path,
                     help="folder (or file) of prediction GeoTIFFs from `predict`, or a .txt list of them: one per "
                          "line, relative paths read from the list file's folder; a list naming a missing file "
                          "is refused")
    parser.add_argument("--imaged", type=Path, help="with --buildings: vector file of the imaged extent")
    parser.add_argument("--districts", default="beijing", help="'beijing' (default) or a boundary file")
    parser.add_argument("--out", required=True, type=output_file, help="district table (.csv)")
    parser.add_argument("--grid-out", type=output_file,
                        help="density grid (.gpkg or .geojson); needs --masks or --imaged")
    parser.add_argument("--cell-m", type=positive_float, default=100.0, help="density grid cell size, m")
    parser.add_argument("--buildings-out", type=output_file,
                        help="one row per building with district, kWp, kWh/yr, CO2 (.gpkg, .geojson or .csv)")
    parser.add_argument("--model-error", type=Path,
                        help="model-error file (model_error.json of a run, written by `report`): corrects the "
                             "district roof areas; without it the corrected columns say 'model error unknown'")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability threshold for --masks")
    parser.add_argument("--min-area", type=non_negative_float, default=4.0, help="smallest footprint kept, m2")
    parser.add_argument("--simplify", type=non_negative_float, default=0.5, help="footprint simplification, m")
    pv = parser.add_argument_group("PV assumptions (defaults: see PVAssumptions)")
    pv.add_argument("--annual-ghi", type=positive_float,
                    help="annual horizontal irradiation, kWh/m2/yr (default: the site's clear-sky estimate)")
    pv.add_argument("--tmy", type=Path, help="typical-year weather file for the site (TMY3 .csv, .epw, PVGIS)")
    pv.add_argument("--tilt", type=float, help="module tilt, deg (default: the site's latitude)")
    pv.add_argument("--azimuth", type=float,
                    help="module azimuth, deg clockwise from north (default: facing the equator)")
    pv.add_argument("--usable-share", type=float, help="usable share of roof area, 0..1")
    pv.add_argument("--efficiency", type=float, help="module efficiency, 0..1")
    pv.add_argument("--losses", type=float, help="system losses, 0..1")
    pv.add_argument("--emission-factor", type=float, help="grid emission factor, tCO2/MWh")


def _read_vector(path: Path, what: str):
    from pgssl_core.assess.boundaries import read_boundary_file

    try:
        return read_boundary_file(path)
    except PgsslError as exc:
        raise PgsslError(str(exc).replace("boundary file", f"{what} file")) from None


def _with_model_error(report, path: Path | None):
    """The district report with the corrected-area columns (see ``pgssl_core.assess.model_error``)."""
    from dataclasses import replace

    from pgssl_core.assess.model_error import corrected_district_table, load_correction, unknown_correction

    correction = load_correction(path) if path is not None else unknown_correction()
    return replace(report, table=corrected_district_table(report.table, correction))


def _write_buildings(footprints, districts, assumptions, path: Path) -> None:
    """Per-building PV table (``pgssl_core.assess.buildings_pv``) as a vector file or CSV."""
    from pgssl_core.assess import write_vector
    from pgssl_core.assess.buildings_pv import buildings_pv, write_buildings_csv

    buildings = buildings_pv(footprints, districts, assumptions)
    if path.suffix.lower() == ".csv":
        write_buildings_csv(buildings, path)
    else:
        write_vector(buildings, path, layer="buildings")
    print(f"{path}: {len(buildings)} buildings, {buildings['kwp'].sum():,.1f} kWp")


def run(args: argparse.Namespace) -> int:
    """Write the district table (and optional density grid and per-building file) from footprints or masks.

    Returns:
        Exit status 0.

    Raises:
        PgsslError: ``--out`` is not a .csv file, or a boundary, raster or model-error file is unusable.
    """
    from tqdm import tqdm

    from pgssl_core.assess import (
        PVAssumptions,
        aggregate_districts,
        density_grid,
        footprints_and_extents,
        list_rasters,
        load_boundaries,
        write_district_csv,
        write_vector,
    )

    if args.out.suffix.lower() != ".csv":
        raise PgsslError(f"--out must be a .csv file, got {args.out.name}")
    assumptions = PVAssumptions().with_tmy(args.tmy).with_values(
        **{field: getattr(args, flag) for flag, field in PV_FLAGS.items() if getattr(args, flag) is not None})
    districts = load_boundaries(args.districts)  # fail fast on a bad boundary file, before any raster work
    if args.masks is not None:
        rasters = list_rasters(args.masks)
        with tqdm(total=len(rasters), desc="footprints", unit="raster", file=sys.stderr) as bar:
            footprints, imaged = footprints_and_extents(rasters, args.threshold, args.min_area, args.simplify,
                                                        progress=lambda _: bar.update())
    else:
        footprints = _read_vector(args.buildings, "buildings")
        imaged = _read_vector(args.imaged, "imaged-extent") if args.imaged is not None else None
        if imaged is not None and "tile" not in imaged.columns:
            imaged = imaged.assign(tile=[f"{args.imaged.stem}#{i}" for i in range(len(imaged))])
    if args.grid_out is not None and imaged is None:
        raise PgsslError("--grid-out needs the imaged extent: use --masks, or give --imaged with --buildings")

    print(f"aggregating {len(footprints)} buildings per district ...", file=sys.stderr)
    report = aggregate_districts(districts, footprints, imaged, assumptions)
    report = _with_model_error(report, args.model_error)
    write_district_csv(report, args.out)
    table = report.table
    print(f"{args.out}: {len(table)} districts, {int((table['status'] != 'no imagery').sum())} with imagery, "
          f"{table['capacity_mwp'].sum():,.2f} MWp, {table['generation_gwh'].sum():,.3f} GWh/yr")
    if len(report.outside):
        outside_csv = args.out.with_name(args.out.stem + "_outside_tiles.csv")
        from pgssl_core.io import atomic_write_bytes

        atomic_write_bytes(outside_csv, report.outside.to_csv(index=False).encode("utf-8"))
        names = ", ".join(report.outside["tile"].astype(str).head(5))
        print(f"warning: {len(report.outside)} tile(s) have imagery outside every district ({names}); "
              f"see {outside_csv}", file=sys.stderr)
    if report.buildings_outside:
        print(f"warning: {report.buildings_outside} building(s) lie in no district", file=sys.stderr)
    if args.buildings_out is not None:
        _write_buildings(footprints, districts, assumptions, args.buildings_out)
    if args.grid_out is not None:
        grid = density_grid(footprints, imaged, cell_m=args.cell_m)
        write_vector(grid, args.grid_out, layer="density")
        print(f"{args.grid_out}: {len(grid)} cells of {args.cell_m:g} m")
    return 0
