"""Label masks: validation, statistics and PNG encoding (pure functions, no database).

A label mask is an (H, W) uint8 array with 0 = background, 1 = building, 255 = unlabelled
(ignored by training). A reference mask is an (H, W) ground truth with 0/1 only.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pgssl_core.errors import CatalogError

BACKGROUND = 0
BUILDING = 1
UNLABELLED = 255
LABEL_VALUES = (BACKGROUND, BUILDING, UNLABELLED)
_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk and its CRC: the last 8 bytes of every complete PNG


def _check_shape(mask: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.shape != tuple(shape):
        raise CatalogError(f"{what} has shape {arr.shape}, expected {tuple(shape)} (height, width)")
    return arr


def validate_label(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return ``mask`` as a contiguous (H, W) uint8 copy, refusing other shapes or values."""
    arr = _check_shape(mask, shape, "label mask")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise CatalogError(f"label mask has dtype {arr.dtype}: expected integers 0, 1 or 255")
    bad = ~np.isin(arr, LABEL_VALUES)
    if bad.any():
        values = np.unique(arr[bad])[:5].tolist()
        raise CatalogError(f"label mask has values {values}: only 0 (background), 1 (building), "
                           "255 (unlabelled) are allowed")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def validate_reference(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A ground-truth mask (bool, or integers 0/1, or 0/255) as (H, W) uint8 0/1."""
    arr = _check_shape(mask, shape, "reference mask")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise CatalogError(f"reference mask has dtype {arr.dtype}: expected bool or integers 0/1")
    values = set(np.unique(arr).tolist())
    if values <= {0, 1}:
        return arr.astype(np.uint8)
    if values <= {0, 255}:  # the usual 0/255 mask PNG
        return (arr > 0).astype(np.uint8)
    raise CatalogError(f"reference mask has values {sorted(values)[:5]}: expected 0/1 (or 0/255)")


def empty_label(shape: tuple[int, int]) -> np.ndarray:
    """An all-unlabelled (H, W) uint8 mask."""
    return np.full(shape, UNLABELLED, dtype=np.uint8)


def label_fractions(mask: np.ndarray) -> tuple[float, float]:
    """(labelled_fraction, building_fraction): shares of pixels != 255 and == 1."""
    n = mask.size or 1
    return float(np.count_nonzero(mask != UNLABELLED)) / n, float(np.count_nonzero(mask == BUILDING)) / n


def apply_complete(mask: np.ndarray, complete: bool) -> np.ndarray:
    """The training view of a label: with ``complete``, unpainted pixels (255) become background."""
    if not complete:
        return mask
    out = mask.copy()
    out[out == UNLABELLED] = BACKGROUND
    return out


def encode_png(mask: np.ndarray) -> bytes:
    """(H, W) uint8 -> single-band 8-bit PNG bytes (lossless)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def decode_png(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a single-band PNG mask back to (H, W) uint8; checks ``shape`` when given."""
    try:
        data = Path(path).read_bytes()
        if not data.endswith(_PNG_END):  # cut short: Pillow may still decode a file missing its last bytes
            raise ValueError("the file is truncated")
        with Image.open(io.BytesIO(data)) as im:
            arr = np.array(im if im.mode == "L" else im.convert("L"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"stored mask {Path(path).name} is unreadable ({exc}): delete and re-save it") from exc
    if shape is not None and arr.shape != tuple(shape):
        raise CatalogError(f"stored mask {Path(path).name} has shape {arr.shape}, expected {tuple(shape)}")
    return arr
