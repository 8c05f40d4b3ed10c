"""The segmentation loss of the method: weighted cross-entropy + Dice with per-pixel weights and an ignore
index (supervised stages: weights 1; the pseudo-label task: the teacher's confidence weights).

Each pretraining task's own loss lives with the task (``pretraining_tasks.py``).
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
