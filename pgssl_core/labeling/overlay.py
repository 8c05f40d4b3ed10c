"""Saved labels drawn over the tile image, so the canvas shows what is already on disk."""

from __future__ import annotations

import numpy as np

from pgssl_core.catalog.labels import BACKGROUND, BUILDING
from pgssl_core.labeling.strokes import DEFAULT_PALETTE, BrushPalette, resize_nearest


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.45,
            palette: BrushPalette = DEFAULT_PALETTE) -> np.ndarray:
    """RGB (H, W, 3) uint8: ``image`` with building / background pixels of ``mask`` tinted.

    ``image``: (H, W, 3) uint8; ``mask``: (H, W) 0/1/255 (unlabelled pixels are left as they
    are); ``alpha`` in [0, 1] is the weight of the brush colour.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape} and mask {mask.shape} do not match (H, W, 3) / (H, W)")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    out = image.astype(np.float32)
    for value, rgb in ((BUILDING, palette.building), (BACKGROUND, palette.background)):
        where = mask == value
        out[where] = (1.0 - alpha) * out[where] + alpha * np.asarray(rgb, dtype=np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def display_size(height: int, width: int, longest: int = 512) -> tuple[int, int]:
    """(h, w) in screen px for showing an (height, width) tile with its longest side ``longest``."""
    scale = longest / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def upscale(image: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Nearest resize for display (keeps label edges crisp instead of blurring them)."""
    return np.ascontiguousarray(resize_nearest(image, out_shape))
