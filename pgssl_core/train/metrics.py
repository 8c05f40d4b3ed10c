"""Building-class confusion counts and the figures derived from them (IoU, F1, precision, recall)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pgssl_core.train.data import IGNORE

if TYPE_CHECKING:
    from pgssl_core.models import ModelConfig
    from pgssl_core.train.stages import TensorSet


@dataclass
class Confusion:
    """Pixel counts of the building class over valid pixels (mask != 255)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, pred: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor) -> None:
        """Accumulate one prediction. ``pred``: (H, W) or (N, H, W) 0/1; ``mask``: same shape, 0/1/255."""
        p = torch.as_tensor(np.asarray(pred) if not isinstance(pred, torch.Tensor) else pred).long()
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).long()
        valid = m != IGNORE
        p, m = p[valid] == 1, m[valid] == 1
        self.tp += int((p & m).sum())
        self.fp += int((p & ~m).sum())
        self.fn += int((~p & m).sum())
        self.tn += int((~p & ~m).sum())

    def figures(self) -> dict[str, float]:
        """IoU, F1, precision, recall of the building class.

        A ratio whose denominator is zero (e.g. no building in the mask and none predicted) counts as
        1.0: nothing was there and nothing was claimed, which is a perfect answer.
        """
        def ratio(num: int, den: int) -> float:
            return 1.0 if den == 0 else num / den

        return {
            "iou": ratio(self.tp, self.tp + self.fp + self.fn),
            "f1": ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
            "precision": ratio(self.tp, self.tp + self.fp),
            "recall": ratio(self.tp, self.tp + self.fn),
        }


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Logits (N, 2, H, W) for a normalised batch (N, C, H, W) of any size.

    The input is zero padded (bottom/right) up to a multiple of ``multiple`` (2**encoder_depth) and the
    output cropped back, so tiles whose sides are not multiples still work.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return model(x)[..., :h, :w]


def evaluate_tensors(model: nn.Module, config: ModelConfig, tiles: TensorSet,
                     device: torch.device) -> dict[str, float]:
    """IoU/F1/precision/recall of the building class over the valid pixels of ``tiles`` (a
    ``TensorSet`` with masks). The model is put in eval mode and restored afterwards."""
    from pgssl_core.train.augment import normalise
    from pgssl_core.train.device import autocast, prepare_input

    was_training = model.training
    model.eval()
    conf = Confusion()
    multiple = 2 ** config.encoder_depth
    try:
        for img, mask in zip(tiles.images, tiles.masks, strict=True):
            x = prepare_input(normalise(img[None].float() / 255.0, config.mean, config.std), device)
            with autocast(device):
                logits = predict_logits(model, x, multiple)
            conf.add(logits.float().argmax(dim=1)[0].cpu(), mask)
    finally:
        model.train(was_training)
    return {**conf.figures(), "tiles": len(tiles.images)}
