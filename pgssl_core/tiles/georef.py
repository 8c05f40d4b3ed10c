"""Georeferencing of plain images: world files (+ .prj) and XYZ slippy-map tile names.

An XYZ tile address ``z/x/y`` covers a fixed square of Web Mercator (EPSG:3857); a world file
gives the affine transform of the pixel grid (its CRS comes from a ``.prj`` sidecar or the caller).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import affine
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning

#: Half the width of the Web Mercator world (m): 2 * pi * 6378137 / 2.
WEB_MERCATOR_HALF_WORLD: float = math.pi * 6378137.0
WEB_MERCATOR = CRS.from_epsg(3857)
#: Deepest zoom accepted in a tile name (z=30 is ~0.15 mm per pixel at 256 px).
MAX_XYZ_ZOOM: int = 30

# "...-<x>-<y>-<z>.<ext>", e.g. "OAM-318669-270172-19.png" (x, y, then zoom, as OAM names them).
_DASHED_XYZ = re.compile(r"(?:^|[^0-9])(\d+)-(\d+)-(\d+)$")


@dataclass(frozen=True)
class Georef:
    """Where an image lies: transform/CRS (either may be missing) and, if not usable, why not."""

    transform: affine.Affine | None
    crs: CRS | None
    reason: str | None  # one line when the image is not georeferenced, else None


def _valid_xyz(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_XYZ_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def parse_xyz_name(path: str | Path) -> tuple[int, int, int] | None:
    """The ``(z, x, y)`` tile address encoded in ``path``, or ``None``.

    Recognised: ``.../<z>/<x>/<y>.<ext>`` and ``...-<x>-<y>-<z>.<ext>``. Addresses outside the
    tile grid of their zoom are ignored (``None``).
    """
    path = Path(path)
    parts = path.parent.parts
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2].isdigit() and path.stem.isdigit():
        z, x, y = int(parts[-2]), int(parts[-1]), int(path.stem)
        if _valid_xyz(z, x, y):
            return z, x, y
    match = _DASHED_XYZ.search(path.stem)
    if match:
        x, y, z = (int(g) for g in match.groups())
        if _valid_xyz(z, x, y):
            return z, x, y
    return None


def xyz_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """EPSG:3857 bounds ``(left, bottom, right, top)`` in metres of slippy tile ``z/x/y``."""
    size = 2 * WEB_MERCATOR_HALF_WORLD / 2**z
    left = -WEB_MERCATOR_HALF_WORLD + x * size
    top = WEB_MERCATOR_HALF_WORLD - y * size
    return left, top - size, left + size, top


def xyz_transform(z: int, x: int, y: int, width: int, height: int) -> affine.Affine:
    """Pixel -> EPSG:3857 transform of slippy tile ``z/x/y`` rendered at ``width`` x ``height`` px."""
    left, bottom, right, top = xyz_bounds(z, x, y)
    return affine.Affine((right - left) / width, 0.0, left, 0.0, -(top - bottom) / height, top)


def shift_transform(transform: affine.Affine | None, col_off: int, row_off: int) -> affine.Affine | None:
    """Transform of a window whose top-left pixel is (col_off, row_off) px; None stays None."""
    return None if transform is None else transform @ affine.Affine.translation(col_off, row_off)


def grid_bounds(transform: affine.Affine | None, width: int, height: int) -> tuple[float, float, float, float] | None:
    """``(left, bottom, right, top)`` covering a ``width`` x ``height`` px grid (rotated ones too)."""
    if transform is None:
        return None
    corners = [transform @ (c, r) for c in (0, width) for r in (0, height)]
    xs, ys = zip(*corners)
    return float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))


def world_file_candidates(path: str | Path) -> list[Path]:
    """Sidecar world-file names for an image, in lookup order (e.g. ``.pgw``, ``.pngw``, ``.wld``)."""
    path = Path(path)
    ext = path.suffix.lstrip(".")
    if not ext:
        return [path.with_suffix(".wld")]
    names = [f"{ext[0]}{ext[-1]}w", f"{ext}w", "wld"]
    out: list[Path] = []
    for name in names:
        for variant in (name.lower(), name.upper()):
            candidate = path.with_suffix(f".{variant}")
            if candidate not in out:
                out.append(candidate)
    return out


def read_world_file(path: Path) -> affine.Affine:
    """The pixel-corner transform of a world file (6 numbers, pixel-centre convention).

    Raises ``ValueError`` with a one-line reason when the file is malformed.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    values = text.split()
    if len(values) != 6:
        raise ValueError(f"expected 6 numbers, found {len(values)}")
    try:
        transform = affine.loadsw(text)  # converts the centre-of-pixel origin to the corner
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else "not numbers") from None
    if not all(math.isfinite(v) for v in transform[:6]) or transform.is_degenerate:
        raise ValueError("the transform is degenerate (zero or non-finite pixel size)")
    return transform


def read_prj(path: Path) -> CRS:
    """The CRS of a ``.prj`` sidecar (WKT, PROJ string or ``EPSG:nnnn``); ``ValueError`` if unreadable."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def georeference_image(path: str | Path, fmt_name: str, width: int, height: int,
                       default_crs: CRS | str | None = None) -> Georef:
    """Georeference a plain image (PNG/JPEG/WebP) of ``width`` x ``height`` px at ``path``.

    Order: a world file with a CRS (``.prj`` sidecar, else ``default_crs``), then an XYZ tile name,
    then a world file without CRS (transform only, not georeferenced), else not georeferenced.
    ``fmt_name`` (e.g. "PNG") only words the reason.
    """
    path = Path(path)
    world_problem: str | None = None
    world_transform: affine.Affine | None = None
    world = next((c for c in world_file_candidates(path) if c.is_file()), None)
    if world is not None:
        try:
            world_transform = read_world_file(world)
        except (ValueError, OSError) as exc:
            world_problem = f"world file {world.name} is malformed ({exc})"
    crs: CRS | None = None
    if world is not None and world_transform is not None:  # a transform is only read from a world file
        prj = path.with_suffix(".prj")
        if prj.is_file():
            try:
                crs = read_prj(prj)
            except (ValueError, OSError) as exc:
                world_problem = f"{prj.name} does not hold a readable CRS ({exc})"
        elif default_crs is not None:
            crs = CRS.from_user_input(default_crs)
        else:
            world_problem = f"world file {world.name} has no {prj.name} sidecar saying its CRS"
        if crs is not None:
            return Georef(world_transform, crs, None)

    xyz = parse_xyz_name(path)
    if xyz is not None:
        return Georef(xyz_transform(*xyz, width, height), WEB_MERCATOR, None)
    if world_problem is not None:
        return Georef(world_transform, None, world_problem)
    return Georef(None, None, f"{fmt_name} has no world file and its name is not an XYZ tile address")


@contextlib.contextmanager
def ungeoreferenced_ok() -> Iterator[None]:
    """Inside the block rasterio's ``NotGeoreferencedWarning`` is not shown (that category only).

    For rasters we knowingly open or write without a georeference: plain images and their predictions, which
    the callers describe in their own words (``not_georeferenced_reason``, the native-resolution warning), so
    GDAL's "Dataset has no geotransform ... identity matrix" line would only repeat them as noise.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield
