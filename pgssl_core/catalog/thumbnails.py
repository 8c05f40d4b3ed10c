"""Gallery thumbnails: small PNG previews of a tile image, cached on disk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pgssl_core.io import atomic_write_bytes

CHECKER = (200, 200, 200)  # shown where the tile has no data, so empty corners are visible


def render_thumbnail(image: np.ndarray, valid: np.ndarray | None, size: int) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 image shrunk to fit ``size`` x ``size`` pixels (aspect kept)."""
    if size < 8:
        raise ValueError(f"thumbnail size {size} px is too small (minimum 8)")
    rgb = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    if valid is not None and not valid.all():
        rgb = rgb.copy()
        rgb[~valid] = CHECKER
    im = Image.fromarray(rgb, mode="RGB")
    im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_thumbnail(path: Path, image: np.ndarray, valid: np.ndarray | None, size: int) -> Path:
    """Render and store atomically at ``path``; returns ``path``."""
    atomic_write_bytes(path, render_thumbnail(image, valid, size))
    return path
