"""Logits of a segmentation network for inputs of any size (training validation, pseudo-labels)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pgssl_core.models.onnx_engine import run_network


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Logits (N, 2, H, W) for a normalised batch (N, C, H, W) of any size.

    The input is zero padded (bottom/right) up to a multiple of ``multiple`` (the network's
    ``ModelConfig.output_stride``) and the output cropped back, so tiles whose sides are not multiples
    still work. A network read from a model file runs on ONNX Runtime on the CPU (see
    :func:`~pgssl_core.models.onnx_engine.run_network`).
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return run_network(model, x)[..., :h, :w]
