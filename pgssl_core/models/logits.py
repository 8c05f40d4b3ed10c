"""Logits of a segmentation network for inputs of any size (training validation, pseudo-labels)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Logits (N, 2, H, W) for a normalised batch (N, C, H, W) of any size.

    The input is zero padded (bottom/right) up to a multiple of ``multiple`` (the network's
    ``ModelConfig.output_stride``) and the output cropped back, so tiles whose sides are not multiples
    still work.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return model(x)[..., :h, :w]
