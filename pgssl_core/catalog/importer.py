"""Importing files and folders of imagery into a project.

Each file is read and validated by :mod:`pgssl_core.tiles`; a raster larger than ``tile_size``
on either side is split. A file is imported whole or not at all: if a split fails half-way, the
tiles already stored from it are deleted again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pgssl_core.catalog.records import ImportResult
from pgssl_core.errors import PgsslError
from pgssl_core.tiles import iter_raster_tiles, needs_split, read_tile
from pgssl_core.tiles.formats import IMAGE_SUFFIXES
from pgssl_core.tiles.validate import validate_input

if TYPE_CHECKING:
    from pgssl_core.catalog.project import Project


Progress = Callable[[int, int, ImportResult], None]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, PgsslError) else f"unexpected {type(exc).__name__}: {text}"


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files to import: files as given (always tried), folders walked recursively for ``IMAGE_SUFFIXES``.

    Hidden files and folders (name starting with ".") inside folders are skipped; order is
    argument order, then sorted path order within a folder; duplicates are dropped. A path that
    does not exist is kept, so that its import reports the error.
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path)
            continue
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path).parts
            if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES and not any(p.startswith(".") for p in rel):
                add(child)
    return out


def _split_name(name: str, row_off: int, col_off: int) -> str:
    """Display name of one piece of a split raster, e.g. ``scene_r512_c1024.tif``."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_r{row_off}_c{col_off}.{suffix}" if dot else f"{name}_r{row_off}_c{col_off}"


def _import_split(project: Project, path: Path, name: str, tile_size: int,
                  band_map: Sequence[int] | None, data_share: float = 1.0) -> ImportResult:
    ids: list[str] = []
    try:
        for (row_off, col_off), tile in iter_raster_tiles(path, tile_size=tile_size, band_map=band_map):
            ids.append(project.add_tile(tile, _split_name(name, row_off, col_off),
                                        source={"source_name": name, "row_off": row_off, "col_off": col_off}))
    except BaseException:
        for tile_id in reversed(ids):  # all or nothing per file
            with contextlib.suppress(Exception):
                project.delete_tile(tile_id)
        raise
    detail = f"{len(ids)} tiles of at most {tile_size} px"
    if data_share < 1.0:  # a sparse raster: say how much of its declared size holds data
        detail += f"; data in {data_share:.4%} of the raster, empty blocks skipped"
    return ImportResult(name, "split", ids, detail)


def import_file(project: Project, path: Path, tile_size: int = 512,
                band_map: Sequence[int] | None = None, display_name: str | None = None) -> ImportResult:
    """Import one file; bad input gives ``status="error"`` with a one-line reason, never an exception.

    ``band_map``: 1-based band indices for R, G, B (see ``pgssl_core.tiles.read_tile``).
    ``display_name``: the name stored and reported (an upload's client-side name); default the file name.
    """
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        return ImportResult(name, "error", [], f"no such file: {path}")
    if not path.is_file():
        return ImportResult(name, "error", [], f"not a regular file: {path}")
    try:
        check = validate_input(path, band_map)  # same checks as inspect and predict, before any work
        if needs_split(path, tile_size):
            return _import_split(project, path, name, tile_size, band_map, check.data_share)
        tile = read_tile(path, band_map=band_map)
        return ImportResult(name, "added", [project.add_tile(tile, name)])
    except Exception as exc:  # one bad file must not stop a batch; the reason goes to the user
        message = _one_line(exc).replace(str(path), name).replace(path.name, name)
        return ImportResult(name, "error", [], message)


def import_paths(project: Project, paths: Sequence[Path], tile_size: int = 512,
                 band_map: Sequence[int] | None = None, progress: Progress | None = None) -> list[ImportResult]:
    """Import files and folders (see :func:`expand_paths`); one result per file, in order.

    ``progress(done, total, result)`` is called after each file.
    """
    files = expand_paths(paths)
    results = []
    for done, path in enumerate(files, start=1):
        result = import_file(project, path, tile_size=tile_size, band_map=band_map)
        results.append(result)
        if progress is not None:
            progress(done, len(files), result)
    return results
