"""Argument types for the CLI's numeric and path options: a value that makes no sense is refused while parsing.

argparse turns an ``ArgumentTypeError`` into a one-line usage error (``error: --tile-size: must be > 0, got 0``,
exit status 2), before any file is opened or any model loaded. Sizes and counts where zero or a negative
number means nothing take :func:`positive_int` / :func:`positive_float`; amounts where zero is a real choice
(an overlap, a tolerance, a number of retries) take the ``non_negative`` ones; a ground sampling distance
takes :func:`gsd_option` or :func:`stated_gsd`; an output takes :func:`output_folder` or :func:`output_file`;
a model to apply takes :func:`model_file`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from pgssl_core.shipped import BASE_MODEL_PATH


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _checked(kind: type[int] | type[float], ok: Callable[[float], bool], wanted: str):  # noqa: ANN202
    """An argparse ``type``: ``text`` as ``kind`` if ``ok(value)``, else an error saying ``wanted``."""
    def convert(text: str):  # noqa: ANN202 - int or float, as ``kind``
        value = _number(text, kind)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value
    return convert


#: A whole number >= 1 (tile sizes in px, batch sizes, counts of tiles or rounds).
positive_int: Callable[[str], int] = _checked(int, lambda v: v >= 1, "> 0")
#: A number > 0 (cell sizes in m, request rates, timeouts).
positive_float: Callable[[str], float] = _checked(float, lambda v: v > 0, "> 0")
#: A whole number >= 0 (an overlap in px, retries, a zoom level).
non_negative_int: Callable[[str], int] = _checked(int, lambda v: v >= 0, ">= 0")
#: A number >= 0 (a smallest area, a simplification tolerance, a backoff).
non_negative_float: Callable[[str], float] = _checked(float, lambda v: v >= 0, ">= 0")


def gsd_option(text: str) -> str:
    """A ``--gsd`` value: ``native`` or metres per pixel inside the accepted GSD range; returned unchanged
    (the command resolves it later with :func:`pgssl_core.tiles.gsd.parse_gsd_option`)."""
    from pgssl_core.tiles.gsd import GsdError, parse_gsd_option

    try:
        parse_gsd_option(text, None, flag="the value")
    except GsdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def stated_gsd(text: str) -> str:
    """A ``--tile-gsd`` value: metres per pixel inside the accepted GSD range; returned unchanged."""
    from pgssl_core.tiles.gsd import GsdError, parse_stated_gsd

    try:
        parse_stated_gsd(text, flag="the value")
    except GsdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _existing_part(path: Path) -> Path | None:
    """``path`` or its nearest ancestor that exists (None when none does, e.g. a relative path's root)."""
    try:
        return next((p for p in (path, *path.parents) if p.exists()), None)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise argparse.ArgumentTypeError(f"{path}: {exc.strerror or exc}") from None


def output_folder(text: str) -> Path:
    """A folder the command writes into (created when missing): refused when it, or a folder above it, is an
    existing file (``mkdir`` would fail there with a ``FileExistsError``/``NotADirectoryError`` traceback)."""
    path = Path(text)
    found = _existing_part(path)
    if found is not None and not found.is_dir():
        where = "" if found == path else f" (in {path})"
        raise argparse.ArgumentTypeError(f"{found} is a file{where}: give a folder (it is created if missing)")
    return path


def output_file(text: str) -> Path:
    """A file the command writes: refused when it is an existing folder, or when a folder above it is a file."""
    path = Path(text)
    found = _existing_part(path)
    if found == path and path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder: give a file name")
    output_folder(str(path.parent))
    return path


def model_file(text: str) -> Path:
    """A model file to apply, or ``base`` for the shipped base building model (as ``--init base`` in ``train``).

    A path is returned as given; whether it is a readable model file is checked when it is loaded.
    """
    return BASE_MODEL_PATH if text == "base" else Path(text)
