"""Building-class confusion counts and the figures derived from them (IoU, F1, precision, recall)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pgssl_core.distributed import DistInfo, all_reduce_sum
from pgssl_core.models import ModelConfig
from pgssl_core.models.device import autocast, prepare_input
from pgssl_core.models.logits import predict_logits
from pgssl_core.models.preprocess import uint8_batch_to_input
from pgssl_core.train.data import IGNORE, TensorSet


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


def tiles_confusion(model: nn.Module, config: ModelConfig, tiles: TensorSet, device: torch.device) -> Confusion:
    """Building-class confusion counts of ``model`` over the valid pixels of ``tiles`` (a ``TensorSet``
    with masks), one tile at a time (sizes may differ). The model is put in eval mode and restored."""
    was_training = model.training
    model.eval()
    conf = Confusion()
    try:
        for img, mask in zip(tiles.images, tiles.labelled_masks(), strict=True):
            x = prepare_input(uint8_batch_to_input(img[None], config.mean, config.std), device)
            with autocast(device):
                logits = predict_logits(model, x, config.output_stride)
            conf.add(logits.float().argmax(dim=1)[0].cpu(), mask)
    finally:
        model.train(was_training)
    return conf


def evaluate_tensors(model: nn.Module, config: ModelConfig, tiles: TensorSet,
                     device: torch.device) -> dict[str, float]:
    """IoU/F1/precision/recall of the building class over the valid pixels of ``tiles`` (see
    :func:`tiles_confusion`), plus ``tiles``, their count."""
    return {**tiles_confusion(model, config, tiles, device).figures(), "tiles": len(tiles.images)}


def evaluate_sharded(model: nn.Module, config: ModelConfig, tiles: TensorSet, device: torch.device,
                     dist: DistInfo) -> dict[str, float]:
    """:func:`evaluate_tensors` with the tiles spread over the ranks of a distributed job and the counts
    summed, so every rank gets the figures of all ``tiles`` (the same as one process)."""
    if not dist.distributed:
        return evaluate_tensors(model, config, tiles, device)
    conf = tiles_confusion(model, config, tiles.shard(dist.rank, dist.world_size), device)
    counts = all_reduce_sum(torch.tensor([conf.tp, conf.fp, conf.fn, conf.tn], dtype=torch.int64, device=device))
    total = Confusion(*(int(v) for v in counts.cpu().tolist()))
    return {**total.figures(), "tiles": len(tiles.images)}
