"""One batched forward pass: uint8 windows in, building probabilities out."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pgssl_core.models import ModelConfig, images_to_tensor
from pgssl_core.models.device import autocast, prepare_input
from pgssl_core.models.onnx_engine import run_network


def model_device(model: nn.Module, device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else the device of the model's first parameter (CPU for parameterless models)."""
    if device is not None:
        return torch.device(device)
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _building_prob(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax building probability (N, H, W) in float32 from logits (N, 2, H, W); the network runs on ONNX
    Runtime on the CPU when it came from a model file (:func:`~pgssl_core.models.onnx_engine.run_network`)."""
    return torch.softmax(run_network(model, x).float(), dim=1)[:, 1]


def forward_probabilities(model: nn.Module, config: ModelConfig, images: np.ndarray, tta: bool = False,
                          device: str | torch.device | None = None) -> np.ndarray:
    """Building probability for a batch of windows.

    ``images``: uint8 (N, H, W, 3) (H, W multiples of the network stride). Returns float32
    (N, H, W) in [0, 1]. With ``tta`` the mean over identity, horizontal and vertical flips.
    """
    dev = model_device(model, device)
    x = prepare_input(images_to_tensor(images, config.mean, config.std), dev)  # channels-last on CUDA
    # Inference always uses eval mode (BatchNorm running statistics, no dropout), whatever the caller left.
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(dev):  # bf16 on CUDA, float32 on CPU
            prob = _building_prob(model, x)
            if tta:
                for dims in ((-1,), (-2,)):
                    prob = prob + _building_prob(model, x.flip(dims)).flip(dims)
                prob = prob / 3.0
    finally:
        model.train(was_training)
    return prob.float().cpu().numpy()
