"""One input check shared by every entry point (import, inspect, predict, train, evaluate, the app).

``validate_input`` looks at a file before any real work is spent on it: its format (magic bytes),
its size (header, at least ``MIN_TILE_SIDE`` px a side), its bands (the band map must name existing
bands), its pixel type (no complex values), its georeference (when polygons or areas are asked
for) and that its data can be decoded (one stored block of a GeoTIFF is read; a plain image is
checked by its header and Pillow's ``verify``: chunk checksums, truncation; the full decode
follows in the reader). Errors are one-line ``TileError`` exceptions that
start with the file name, the same wording whichever entry point finds them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rasterio.crs import CRS

from pgssl_core.errors import TileError
from pgssl_core.tiles.formats import MAX_TILE_PIXELS, check_min_size, sniff_format
from pgssl_core.tiles.raster import corrupt_error, open_raster
from pgssl_core.tiles.tile import all_nodata_error


@dataclass(frozen=True)
class InputCheck:
    """What ``validate_input`` learned about a file that passed (sizes in px)."""

    name: str
    fmt: str  # "gtiff" | "png" | "jpeg" | "webp"
    width: int
    height: int
    georeferenced: bool
    data_share: float  # share (0..1) of the raster inside stored blocks (1.0 unless sparse)


def _not_georeferenced(name: str, reason: str | None, purpose: str) -> TileError:
    return TileError(f"{name}: {reason or 'not georeferenced'}; {purpose} need a CRS and a geotransform")


def validate_input(path: str | os.PathLike[str], band_map: Sequence[int] | None = None,
                   need_georef: bool = False, purpose: str = "footprints and areas",
                   default_crs: CRS | str | None = None) -> InputCheck:
    """Check ``path`` cheaply before work is spent on it; raises ``TileError`` (one line) if unusable.

    ``band_map``: 1-based bands for R, G, B (checked against the file). ``need_georef``: refuse
    files without CRS and transform (``purpose`` words the reason). Reads header facts and one stored
    block (GeoTIFF) or verifies the file's structure (PNG/JPEG/WebP) without decoding its pixels.
    """
    path = Path(path)
    name = path.name
    fmt = sniff_format(path)
    if fmt != "gtiff":
        from pgssl_core.tiles.plain_image import check_plain_image

        width, height, georef = check_plain_image(path, fmt, band_map, MAX_TILE_PIXELS, default_crs)
        georeferenced = georef.transform is not None and georef.crs is not None
        if need_georef and not georeferenced:
            raise _not_georeferenced(name, georef.reason, purpose)
        return InputCheck(name, fmt, width, height, georeferenced, 1.0)
    with open_raster(path, band_map) as src:  # header size, band map, pixel type
        check_min_size(name, src.width, src.height)
        if need_georef and not src.georeferenced:
            raise _not_georeferenced(name, src.not_georeferenced_reason, purpose)
        present = src.blocks.present_windows() if not src.blocks.complete else None
        if present is not None and not present:
            raise all_nodata_error(name)
        col, row, width, height = present[0] if present else (0, 0, min(src.width, 256), min(src.height, 256))
        try:
            src.read_window(col, row, width, height)  # the first stored block decodes
        except TileError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure means the data is unreadable
            raise corrupt_error(path, exc) from None
        return InputCheck(name, fmt, src.width, src.height, src.georeferenced, src.data_share)


def validate_inputs(paths: Sequence[Path], band_map: Sequence[int] | None = None, need_georef: bool = False,
                    purpose: str = "footprints and areas",
                    report: Callable[[str], None] | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``validate_input`` over many files: ``(usable paths, [(refused path, one-line reason)])``.

    Every file is checked before any is worked on. When some pass, each bad file is named
    (``report(reason)``) and the others go on. When none passes, ``TileError`` says why, in one line.
    """
    good: list[Path] = []
    bad: list[tuple[Path, str]] = []
    for path in paths:
        try:
            validate_input(path, band_map, need_georef, purpose)
        except TileError as exc:
            bad.append((Path(path), str(exc)))
        else:
            good.append(Path(path))
    if not good:
        if len(bad) == 1:
            raise TileError(bad[0][1])
        raise TileError(f"none of the {len(bad)} input files can be used: " + "; ".join(r for _, r in bad))
    if report is not None:
        for _, reason in bad:
            report(reason)
    return good, bad
