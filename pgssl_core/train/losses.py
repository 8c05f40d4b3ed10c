"""Losses of the method, each an ``nn.Module`` with its tensor shapes stated.

- :class:`WeightedSegLoss`: cross-entropy + Dice with per-pixel weights and an ignore index
  (supervised teacher: weights 1; pseudo-label task: teacher-confidence weights).
- :class:`ByolLoss`: BYOL's normalised regression loss (Grill et al., NeurIPS 2020, "Bootstrap your
  own latent"), 2 - 2 cos(p, z), symmetrised by the caller over the two views.
- :class:`MaskedReconstructionLoss`: inpainting MSE taken ONLY over masked pixels (the source code
  took it over the whole image, which mostly rewards copying visible pixels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pgssl_core.train.data import IGNORE


class WeightedSegLoss(nn.Module):
    """Weighted cross-entropy plus soft Dice over both classes.

    forward(logits (N, K, H, W) float, target (N, H, W) int with ``ignore_index`` for ignored pixels,
    weight (N, H, W) float >= 0 or None) -> scalar. Ignored or zero-weight pixels contribute nothing;
    a batch with no valid pixel gives 0 (with a graph, so backward still works).
    """

    def __init__(self, ignore_index: int = IGNORE, dice_weight: float = 1.0, smooth: float = 1.0) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.dice_weight = dice_weight
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted cross-entropy plus ``dice_weight`` x soft Dice (smoothing ``smooth``), averaged over classes.

        Args:
            logits: (N, K, H, W) float.
            target: (N, H, W) int class ids, ``ignore_index`` where the pixel is ignored.
            weight: (N, H, W) float >= 0 per-pixel weights, or None for 1.

        Returns:
            Scalar loss; 0 (still on the graph) when no pixel has a positive weight.
        """
        logits = logits.float()
        valid = target != self.ignore_index
        w = valid.float() if weight is None else weight.float() * valid
        safe_target = torch.where(valid, target, torch.zeros_like(target)).long()
        ce = F.cross_entropy(logits, safe_target, reduction="none")
        total_w = w.sum()
        if total_w <= 0:
            return logits.sum() * 0.0
        ce_loss = (ce * w).sum() / total_w
        probs = logits.softmax(dim=1)
        onehot = F.one_hot(safe_target, logits.shape[1]).permute(0, 3, 1, 2).float()
        wk = w.unsqueeze(1)
        inter = (probs * onehot * wk).sum(dim=(0, 2, 3))
        denom = ((probs + onehot) * wk).sum(dim=(0, 2, 3))
        dice = 1 - (2 * inter + self.smooth) / (denom + self.smooth)
        return ce_loss + self.dice_weight * dice.mean()


class ByolLoss(nn.Module):
    """forward(prediction (N, D), target projection (N, D)) -> scalar mean of 2 - 2 cos (range 0..4).

    The target is detached here so no gradient can reach the EMA network through this loss.
    """

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """BYOL loss 2 - 2 cos(prediction, target), averaged over the batch.

        Args:
            prediction: (N, D) online prediction.
            target: (N, D) target projection (detached here).

        Returns:
            Scalar in 0..4.
        """
        p = F.normalize(prediction.float(), dim=-1)
        z = F.normalize(target.detach().float(), dim=-1)
        return (2 - 2 * (p * z).sum(dim=-1)).mean()


class MaskedReconstructionLoss(nn.Module):
    """forward(reconstruction (N, C, H, W), original (N, C, H, W), hole_mask (N, 1 or C, H, W) bool/0-1)
    -> mean squared error over masked pixels only (0 with a graph when nothing is masked)."""

    def forward(self, reconstruction: torch.Tensor, original: torch.Tensor, hole_mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the masked pixels only.

        Args:
            reconstruction: (N, C, H, W) float.
            original: (N, C, H, W) float, the uncorrupted view.
            hole_mask: (N, 1, H, W) bool, True inside the holes (broadcast over channels).

        Returns:
            Scalar MSE per masked value; 0 (still on the graph) when nothing is masked.
        """
        m = hole_mask.float().expand_as(original)
        count = m.sum()
        if count <= 0:
            return reconstruction.sum() * 0.0
        return (((reconstruction.float() - original.float()) ** 2) * m).sum() / count
