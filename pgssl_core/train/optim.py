"""Optimizers and learning-rate schedules built from a profile's optimisation part.

Weight decay goes to weight matrices/kernels only (not biases or norm parameters) and is really
applied (the source's optimizer silently dropped it).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pgssl_core.train.profiles import OptimSettings


class WarmupDecay:
    """LR factor: linear warm-up over ``warmup`` steps, then cosine or polynomial (power 0.9) decay to 0
    at ``total``. A plain object (not a lambda) so the scheduler's state dict stays plain data."""

    def __init__(self, warmup: int, total: int, kind: str = "cosine") -> None:
        self.warmup, self.total, self.kind = int(warmup), int(total), kind

    def __call__(self, step: int) -> float:
        """The LR factor at ``step``: (step + 1) / (warmup + 1) during warm-up, then cosine or (1 - frac)^0.9 to 0."""
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        frac = min((step - self.warmup) / max(self.total - self.warmup, 1), 1.0)
        if self.kind == "poly":
            return max((1 - frac) ** 0.9, 0.0)
        return 0.5 * (1 + math.cos(math.pi * frac))


def make_optimizer(params: list[nn.Parameter], profile: OptimSettings, lr: float | None = None,
                   total: int = 1) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Optimizer over ``params`` (decay on tensors with ndim > 1 only) and its schedule for ``total`` steps;
    ``lr``: the stage's peak learning rate (None: ``profile.lr``)."""
    lr = profile.lr if lr is None else lr
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": profile.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if profile.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=lr, momentum=profile.momentum)
        kind = "poly"
    else:  # "adamw"; Profile refuses any other name
        opt = torch.optim.AdamW(groups, lr=lr)
        kind = "cosine"
    warmup = min(profile.warmup_steps, max(total // 5, 0))
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, WarmupDecay(warmup, total, kind))
