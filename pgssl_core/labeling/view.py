"""Zoom and pan on a tile: the part of the tile the canvas shows, and its strokes put back in place.

The brush canvas has a fixed screen size (about 512 px). Zooming shows a smaller window of the
tile on it, so a large tile (or fine roof edges) can be painted at a useful scale; panning moves
the window. The strokes painted on a zoomed canvas cover only the window: :func:`place_strokes`
puts them into a tile-sized stroke mask, untouched (255) outside the window.

Pure numpy, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgssl_core.catalog.labels import UNLABELLED

#: Zoom factors offered (1 = the whole tile on the canvas).
ZOOMS = (1, 2, 4)
#: Unit steps of the pan directions, (row, col).
PAN_STEPS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


@dataclass(frozen=True)
class ViewWindow:
    """A window of a tile in tile px: rows ``row0 .. row0 + rows``, columns ``col0 .. col0 + cols``."""

    row0: int
    col0: int
    rows: int
    cols: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices of the window, for indexing an (H, W, ...) array of the tile."""
        return slice(self.row0, self.row0 + self.rows), slice(self.col0, self.col0 + self.cols)

    @property
    def key(self) -> str:
        """Short text naming the window (part of the canvas widget key: a new window is a new canvas)."""
        return f"{self.row0}-{self.col0}-{self.rows}-{self.cols}"


def _start(centre: float, size: int, total: int) -> int:
    """First index of a ``size`` window centred on ``centre`` and kept inside ``0 .. total``."""
    return int(min(max(round(centre - size / 2), 0), total - size))


def zoom_window(shape: tuple[int, int], zoom: int, centre: tuple[float, float] | None = None) -> ViewWindow:
    """The window showing 1/``zoom`` of each side of a tile of ``shape`` (H, W), centred on ``centre``
    (row, col in tile px; the tile centre if None) and shifted to stay inside the tile.

    Raises ValueError for a zoom that is not a positive integer.
    """
    if int(zoom) != zoom or zoom < 1:
        raise ValueError(f"zoom must be a positive integer, got {zoom}")
    height, width = int(shape[0]), int(shape[1])
    rows, cols = max(1, height // int(zoom)), max(1, width // int(zoom))
    if centre is None:
        centre = (height / 2, width / 2)
    return ViewWindow(_start(centre[0], rows, height), _start(centre[1], cols, width), rows, cols)


def pan(window: ViewWindow, direction: str, shape: tuple[int, int], fraction: float = 0.5) -> ViewWindow:
    """``window`` moved by ``fraction`` of its size towards ``direction`` (up/down/left/right), kept
    inside a tile of ``shape`` (H, W). Raises ValueError for an unknown direction."""
    if direction not in PAN_STEPS:
        raise ValueError(f"direction must be one of {sorted(PAN_STEPS)}, got {direction!r}")
    d_row, d_col = PAN_STEPS[direction]
    centre = (window.row0 + window.rows / 2 + d_row * fraction * window.rows,
              window.col0 + window.cols / 2 + d_col * fraction * window.cols)
    return ViewWindow(_start(centre[0], window.rows, int(shape[0])), _start(centre[1], window.cols, int(shape[1])),
                      window.rows, window.cols)


def can_pan(window: ViewWindow, direction: str, shape: tuple[int, int]) -> bool:
    """Whether :func:`pan` towards ``direction`` would move ``window`` at all."""
    return pan(window, direction, shape) != window


def place_strokes(window_strokes: np.ndarray, window: ViewWindow, shape: tuple[int, int]) -> np.ndarray:
    """A tile-sized (``shape``) stroke mask, untouched (255) except ``window``, which holds
    ``window_strokes`` ((window.rows, window.cols) uint8 stroke values)."""
    if window_strokes.shape != (window.rows, window.cols):
        raise ValueError(f"strokes {window_strokes.shape} do not fit the window {(window.rows, window.cols)}")
    out = np.full(tuple(int(s) for s in shape), UNLABELLED, dtype=np.uint8)
    out[window.slices] = window_strokes
    return out
