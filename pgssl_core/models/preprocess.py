"""Image normalisation shared by training and inference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def images_to_tensor(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Turn uint8 images into a normalised float tensor.

    ``images``: (H, W, C) or (N, H, W, C) uint8. Returns float32 (N, C, H, W) with
    ``(x / 255 - mean) / std`` per band.
    """
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"expected (H, W, C) or (N, H, W, C) images, got shape {arr.shape}")
    return uint8_batch_to_input(torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2), mean, std)


def uint8_batch_to_input(batch: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Turn a uint8 batch (N, C, H, W) into the network's float32 input: ``(x / 255 - mean) / std`` per band."""
    return normalise(batch.float() / 255.0, mean, std)


def normalise(batch: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per band for a float batch (N, C, H, W) in [0, 1]; ``mean``/``std`` one value
    per band, in the batch's dtype and on its device."""
    m = torch.tensor(mean, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
    return (batch - m) / s
