"""Brush strokes -> label masks (pure numpy, no Streamlit).

The canvas hands back its strokes as an RGBA image (h, w, 4) uint8 at *canvas* size, with a
transparent background. Three brush colours mean "building", "background" and "eraser" (back to
unlabelled); everything the brush did not touch stays as it was. Label values follow
:mod:`pgssl_core.catalog.labels`; :data:`ERASED` marks eraser pixels in a stroke mask only (it is
never saved: :func:`merge_labels` turns it into unlabelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgssl_core.catalog.labels import BACKGROUND, BUILDING, UNLABELLED

RGB = tuple[int, int, int]

#: Stroke-mask value of an eraser pixel: "make this pixel unlabelled" (255 in a stroke mask means "untouched").
ERASED = 254


@dataclass(frozen=True)
class BrushPalette:
    """Brush colours (RGB 0-255) and the stroke opacity used on the canvas.

    Strokes are semi-transparent so the roof under the brush stays visible while painting.
    ``min_alpha`` (0-255): canvas pixels fainter than this (anti-aliased stroke edges) are
    treated as unpainted, so a stroke's label does not bleed one pixel beyond its visible edge.
    """

    building: RGB = (230, 25, 75)
    background: RGB = (0, 130, 200)
    # white: far from both label colours in RGB, so blends of strokes still resolve to the top one
    eraser: RGB = (255, 255, 255)
    opacity: float = 0.6
    min_alpha: int = 60

    def css(self, rgb: RGB) -> str:
        """CSS colour of a brush, e.g. ``rgba(230, 25, 75, 0.6)``."""
        return f"rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {self.opacity})"


DEFAULT_PALETTE = BrushPalette()


def resize_nearest(array: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the first two axes of ``array`` to ``out_shape`` (H, W).

    Samples pixel centres, so a 2x down-sampling picks one of each 2x2 block and labels never
    get interpolated into values that are not labels.
    """
    h_in, w_in = array.shape[:2]
    h_out, w_out = int(out_shape[0]), int(out_shape[1])
    if (h_in, w_in) == (h_out, w_out):
        return array
    rows = np.minimum(((np.arange(h_out) + 0.5) * h_in / h_out).astype(np.intp), h_in - 1)
    cols = np.minimum(((np.arange(w_out) + 0.5) * w_in / w_out).astype(np.intp), w_in - 1)
    return array[rows[:, None], cols[None, :]]


def strokes_to_labels(rgba: np.ndarray | None, out_shape: tuple[int, int],
                      palette: BrushPalette = DEFAULT_PALETTE) -> np.ndarray:
    """Stroke mask (H, W) uint8 of the strokes in a canvas image: 0/1 painted, :data:`ERASED`, 255 untouched.

    ``rgba``: (h, w, 4) uint8 canvas pixels (any size; resized nearest to ``out_shape``), or
    None for "nothing drawn yet". A pixel with alpha >= ``palette.min_alpha`` gets the value
    of the nearest brush colour (building, background or eraser; Euclidean in RGB), so blended
    overlaps and anti-aliasing still resolve to one of the three; other pixels are 255.
    """
    out = np.full(tuple(out_shape), UNLABELLED, dtype=np.uint8)
    if rgba is None:
        return out
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"canvas image must be (h, w, 4) RGBA, got shape {rgba.shape}")
    small = resize_nearest(rgba, out_shape)
    painted = small[..., 3] >= palette.min_alpha
    rgb = small[..., :3].astype(np.int32)
    colours = np.array([palette.building, palette.background, palette.eraser], dtype=np.int32)
    nearest = ((rgb[..., None, :] - colours) ** 2).sum(axis=-1).argmin(axis=-1)  # ties: building first
    values = np.array([BUILDING, BACKGROUND, ERASED], dtype=np.uint8)
    out[painted] = values[nearest[painted]]
    return out


def merge_labels(base: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """``base`` (H, W) 0/1/255 with every painted pixel of ``strokes`` (same shape) written over it;
    :data:`ERASED` stroke pixels become unlabelled (255)."""
    if base.shape != strokes.shape:
        raise ValueError(f"base {base.shape} and strokes {strokes.shape} differ in shape")
    painted = np.where(strokes == ERASED, UNLABELLED, strokes)
    return np.where(strokes != UNLABELLED, painted, base).astype(np.uint8)


def fill_unlabelled(base: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``base`` with its unlabelled pixels (255) taken from ``fill`` (same shape): user labels win."""
    if base.shape != fill.shape:
        raise ValueError(f"base {base.shape} and fill {fill.shape} differ in shape")
    return np.where(base == UNLABELLED, fill, base).astype(np.uint8)
