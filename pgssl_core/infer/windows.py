"""Sliding-window layout along one axis and the blending weights of overlapping windows.

All sizes are in pixels. Windows along an axis all have the same length (so they batch); the
last window is aligned to the raster's end, so it may overlap its neighbour by more than asked.
"""

from __future__ import annotations

import math

import numpy as np

from pgssl_core.errors import PgsslError


def axis_windows(size: int, tile: int, overlap: int, multiple: int) -> tuple[list[int], int]:
    """Window starts and the common window length along an axis of ``size`` px.

    When ``size`` is smaller than ``tile`` there is one window whose length is ``size`` rounded up
    to ``multiple`` (the network's stride); the caller pads the image to that length.
    """
    if size < 1:
        raise PgsslError(f"cannot predict on an empty raster axis ({size} px)")
    if tile < multiple or tile % multiple:
        raise PgsslError(f"tile size {tile} px must be a positive multiple of {multiple} px for this model")
    if not 0 <= overlap < tile:
        raise PgsslError(f"overlap {overlap} px must be at least 0 and smaller than the tile size {tile} px")
    if size <= tile:
        return [0], min(tile, math.ceil(size / multiple) * multiple)
    stride = tile - overlap
    starts = list(range(0, size - tile + 1, stride))
    if starts[-1] != size - tile:
        starts.append(size - tile)  # align the last window to the end rather than padding
    return starts, tile


def _rise(length: int, overlap: int) -> np.ndarray:
    """Weights 0..1 over the first ``overlap`` px of a window edge that lies inside the raster.

    The outer quarter of the overlap gets weight 0 (predictions next to a window edge lack
    context); the rest is a raised-cosine ramp. A rising ramp and the mirrored falling ramp of the
    neighbour sum to exactly 1 when the windows overlap by ``overlap`` px.
    """
    w = np.ones(length, dtype=np.float64)
    if overlap <= 0:
        return w
    margin = overlap // 4
    ramp_len = overlap - 2 * margin
    i = np.arange(min(overlap, length))
    ramp = 0.5 - 0.5 * np.cos(np.pi * (i - margin + 0.5) / ramp_len)
    ramp[i < margin] = 0.0
    ramp[i >= margin + ramp_len] = 1.0
    w[: len(i)] = ramp
    return w


def edge_weights(start: int, length: int, size: int, overlap: int) -> np.ndarray:
    """1-D blending weights (float32, ``length``) of the window at ``start`` on an axis of ``size`` px.

    Edges on the raster border keep weight 1 (no neighbour will cover those pixels).
    """
    w = np.ones(length, dtype=np.float64)
    if start > 0:
        w = np.minimum(w, _rise(length, overlap))
    if start + length < size:
        w = np.minimum(w, _rise(length, overlap)[::-1])
    return w.astype(np.float32)
