"""Prediction on an in-memory tile (labelling page, uncertainty maps, small images)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.stitch import Progress, stitch_predictions
from pgssl_core.models import ModelConfig
from pgssl_core.tiles.gsd import needs_resampling, resample_image, resize_fraction


def network_multiple(config: ModelConfig) -> int:
    """Side multiple (px) that the network's input must have: its total down-sampling stride."""
    return config.output_stride


def predict_tile(model: nn.Module, config: ModelConfig, image: np.ndarray, tta: bool = False,
                 device: str | torch.device | None = None, tile: int = 512, overlap: int = 64,
                 batch_size: int = 4, progress: Progress | None = None,
                 source_gsd_m: float | None = None) -> np.ndarray:
    """Building probability of an (H, W, 3) uint8 image: float32 (H, W) in [0, 1].

    Any size works: small images are mirror-padded to the network stride, larger ones go
    through the same blended sliding windows as ``predict_raster``. With ``source_gsd_m`` (the image's
    GSD in m/px) and a model of known working GSD (``config.gsd_m``), the image is resampled to the
    working GSD and the probabilities back to (H, W) (GDAL's warper); otherwise it is used as it is.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if source_gsd_m is not None and config.gsd_m is not None and needs_resampling(source_gsd_m, config.gsd_m):
        seen = resample_image(image, source_gsd_m, config.gsd_m)
        prob = predict_tile(model, config, seen, tta, device, tile, overlap, batch_size, progress)
        return np.clip(resize_fraction(prob, image.shape[:2]), 0.0, 1.0)
    height, width = image.shape[:2]
    out = np.empty((height, width), dtype=np.float32)
    valid = np.ones((height, width), dtype=bool)

    def read(col_off: int, row_off: int, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = slice(row_off, row_off + h), slice(col_off, col_off + w)
        return image[rows, cols], valid[rows, cols]

    def predict(batch: np.ndarray) -> np.ndarray:
        return forward_probabilities(model, config, batch, tta=tta, device=device)

    for rows in stitch_predictions(height, width, read, predict, tile, overlap,
                                   network_multiple(config), batch_size, progress):
        out[rows.row_off:rows.row_off + len(rows.prob)] = rows.prob
    return out
