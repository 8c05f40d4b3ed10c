"""Zero-label adaptation: a network's BatchNorm statistics re-estimated on a user's own tiles (AdaBN).

A network trained on one kind of imagery normalises every BatchNorm layer with the mean and variance its
training tiles gave. On other imagery (another sensor, season, place) the features have other statistics and
the network sees them off-centre: the classic domain shift. With no labels at all, re-estimating those
statistics on the user's tiles (AdaBN: Li et al. 2016, "Revisiting Batch Normalization For Practical Domain
Adaptation") is a cheap fix: one forward pass over some crops, no gradient, nothing learnt.

:func:`adapt_batchnorm` returns a copy of the network whose BatchNorm ``running_mean``, ``running_var`` and
``num_batches_tracked`` are the statistics of the given batches (by default; ``alpha`` blends them with the
model's own); every parameter and every other buffer stays
bit-identical and the network passed in is untouched, so the original stays available (the change is
reversible). The statistics are pooled over every pixel of every batch (the population mean and variance of
each layer's input, so crops of different sizes and batches of different lengths all count by their pixels),
while each batch is normalised by its own statistics during the pass, as in training. ``alpha`` blends the
source and the target statistics (1: the target's only, the default of :func:`adapt_batchnorm`; the product's
entry points use :data:`ADAPT_ALPHA`, 0.75, measured to keep most of the gain on new imagery and lose nothing
where the model already fits).

:func:`adaptation_batches` turns uint8 images (already at the model's working GSD) into such batches: seeded
random crops, normalised as the network's input; :func:`adapt_to_tiles` does both.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from pgssl_core.errors import PgsslError
from pgssl_core.models.factory import ModelConfig
from pgssl_core.models.preprocess import images_to_tensor

#: Crop side (px at the working GSD) of :func:`adaptation_batches`.
CROP_PX: int = 256
#: Crops drawn by default: 64 crops of 256 px are 4.2 Mpx, a few seconds of forward passes on a CPU.
MAX_CROPS: int = 64
#: Crops per forward pass: each batch is normalised by its own statistics during the pass, so a few crops
#: together give the deeper layers inputs closer to the pooled statistics than one crop alone.
BATCH_CROPS: int = 8
#: Blend factor of the product's adaptation (``adapt_to_tiles``, ``predict``/``evaluate --adapt-bn``, the app):
#: 0.75 of the new statistics, 0.25 of the model's own. Measured (benchmarks/zero_label_adaptation.py, IoU, 3 crop
#: seeds): alpha 1 gave Kathmandu +0.060, Dubai -0.007 and the base model's own OAM test -0.018; alpha 0.75 gave
#: +0.050, -0.004 and -0.003. The app adapts before it knows whether the imagery is new, so the blend that keeps
#: most of the gain and costs nothing where the model already fits is the default.
ADAPT_ALPHA: float = 0.75
#: A crop whose share of valid (imaged) pixels is below this is drawn again (no-data borders are not imagery).
MIN_VALID_SHARE: float = 0.9


def batchnorm_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """The BatchNorm layers of ``model`` that keep running statistics, with their names, in module order."""
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_mean is not None]


class _Moments:
    """Per-channel pixel count, mean and sum of squared deviations of a BatchNorm layer's inputs, pooled over
    batches (Chan et al.'s parallel update, in float64)."""

    def __init__(self, channels: int, device: torch.device) -> None:
        self.count = 0
        self.mean = torch.zeros(channels, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(channels, dtype=torch.float64, device=device)

    def add(self, n: int, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        """Merge one batch of ``n`` values per channel with its ``mean`` and unbiased variance."""
        mean, m2 = mean.to(torch.float64), unbiased_var.to(torch.float64) * (n - 1)
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta * delta * (self.count * n / total)
        self.count = total

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased variance (as BatchNorm keeps it) over every pixel seen."""
        return self.mean, self.m2 / max(self.count - 1, 1)


def _collect(moments: _Moments) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
    """A forward hook that merges the batch statistics a BatchNorm layer just computed (with momentum 1 its
    running buffers hold exactly the last batch's mean and unbiased variance) into ``moments``."""

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        x = inputs[0]
        bn = cast(_BatchNorm, module)
        assert bn.running_mean is not None and bn.running_var is not None
        moments.add(x.numel() // x.shape[1], bn.running_mean, bn.running_var)

    return hook


def adapt_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor], alpha: float = 1.0,
                    device: str | torch.device | None = None) -> nn.Module:
    """A copy of ``model`` whose BatchNorm statistics are re-estimated on ``batches`` (no labels, no gradient).

    Args:
        model: a network with BatchNorm layers (left as it is: its copy is adapted).
        batches: normalised float batches (N, C, H, W), as the network takes them (e.g. from
            :func:`adaptation_batches`); sizes may differ from batch to batch.
        alpha: weight of the new statistics, in [0, 1]: ``running = alpha * target + (1 - alpha) * source``
            for the mean and the variance; 1 (the default) keeps the target's only.
        device: where the forward passes run (None: the device of the model's parameters).

    Returns:
        The adapted copy, in the train/eval mode ``model`` was in, on ``device``. Its BatchNorm
        ``running_mean``/``running_var`` are the pooled statistics of each layer's inputs over every pixel of
        every batch (blended by ``alpha``) and ``num_batches_tracked`` is the number of batches; every
        parameter and every other buffer is identical to ``model``'s.

    Raises:
        PgsslError: no batch at all, a batch that is not (N, C, H, W) with the model's band count,
            ``alpha`` outside [0, 1], or a model without BatchNorm layers.
    """
    if not 0.0 <= alpha <= 1.0 or math.isnan(alpha):
        raise PgsslError(f"the BatchNorm blend factor must be between 0 and 1, got {alpha}")
    adapted = copy.deepcopy(model)
    layers = batchnorm_layers(adapted)
    if not layers:
        raise PgsslError("the model has no BatchNorm layer with running statistics: nothing to adapt")
    param = next(adapted.parameters(), None)
    dev = torch.device(device) if device is not None else (param.device if param is not None else torch.device("cpu"))
    adapted.to(dev)
    in_channels = _in_channels(adapted)
    moments = {name: _Moments(bn.num_features, dev) for name, bn in layers}
    source = {name: (_stat(bn.running_mean), _stat(bn.running_var)) for name, bn in layers}
    hooks = [bn.register_forward_hook(_collect(moments[name])) for name, bn in layers]
    momentum = {name: bn.momentum for name, bn in layers}
    was_training = model.training
    adapted.eval()  # dropout and anything else in inference mode ...
    for _, bn in layers:
        bn.train()  # ... but each batch normalised by its own statistics, as AdaBN does,
        bn.momentum = 1.0  # which the running buffers then hold, for the hook to pool
    seen = 0
    try:
        with torch.no_grad():
            for batch in batches:
                _check_batch(batch, in_channels)
                adapted(batch.to(dev, dtype=torch.float32))
                seen += 1
    finally:
        for hook in hooks:
            hook.remove()
        for name, bn in layers:
            bn.momentum = momentum[name]
    if seen == 0:
        raise PgsslError("no tiles to adapt the model to: give at least one image")
    for name, bn in layers:
        mean, var = moments[name].mean_var()
        old_mean, old_var = source[name]
        assert bn.running_mean is not None and bn.running_var is not None and bn.num_batches_tracked is not None
        bn.running_mean.copy_(alpha * mean + (1.0 - alpha) * old_mean)
        bn.running_var.copy_(alpha * var + (1.0 - alpha) * old_var)
        bn.num_batches_tracked.fill_(seen)
    adapted.train(was_training)
    return adapted


def _stat(buffer: torch.Tensor | None) -> torch.Tensor:
    """A copy of a running-statistics buffer in float64 (the source statistics, before the pass)."""
    assert buffer is not None
    return buffer.detach().to(torch.float64, copy=True)


def _in_channels(model: nn.Module) -> int | None:
    """Input bands of the network's first convolution (None when it has none)."""
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return None if first is None else first.in_channels


def _check_batch(batch: object, in_channels: int | None) -> None:
    if not isinstance(batch, torch.Tensor) or batch.ndim != 4 or not batch.is_floating_point():
        shape = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise PgsslError(f"adaptation batches must be normalised float tensors (N, C, H, W), got {shape}")
    if in_channels is not None and batch.shape[1] != in_channels:
        raise PgsslError(f"adaptation batch has {batch.shape[1]} bands, the model takes {in_channels}")
    if batch.shape[0] == 0:
        raise PgsslError("adaptation batch is empty (N = 0)")


def _crop_shape(height: int, width: int, crop: int, multiple: int) -> tuple[int, int]:
    """The crop of an image: ``crop`` px square, or the largest multiple of ``multiple`` that fits."""
    return min(crop, height // multiple * multiple), min(crop, width // multiple * multiple)


def sample_crops(images: Sequence[np.ndarray], multiple: int, crop: int = CROP_PX, max_crops: int = MAX_CROPS,
                 seed: int = 0, valid: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Up to ``max_crops`` seeded random crops of ``images`` (uint8 (H, W, C)), drawn in proportion to the
    area each image offers, so a large image gives more crops than a small one.

    A crop is ``crop`` px square, or for a smaller image the largest rectangle of sides multiple of
    ``multiple`` (the network's stride) that fits; images smaller than ``multiple`` are left out. With
    ``valid`` (one (H, W) bool per image, or None), a crop with less than :data:`MIN_VALID_SHARE` of valid
    pixels is drawn again (a few tries, then left out). When the images hold fewer than ``max_crops``
    non-overlapping crops, each image is tiled instead (every pixel once, no repeat).

    Raises:
        PgsslError: no image, or none large enough for one crop.
    """
    if max_crops < 1:
        raise PgsslError(f"the number of adaptation crops must be at least 1, got {max_crops}")
    arrays = [np.asarray(img) for img in images]
    if not arrays:
        raise PgsslError("no tiles to adapt the model to: give at least one image")
    masks = list(valid) if valid is not None else [None] * len(arrays)
    shapes = [_crop_shape(a.shape[0], a.shape[1], crop, multiple) for a in arrays]
    usable = [i for i, (h, w) in enumerate(shapes) if h > 0 and w > 0]
    if not usable:
        raise PgsslError(f"the images are smaller than the network's {multiple} px stride: nothing to adapt on")
    whole = [(i, r, c) for i in usable for r, c in _grid(arrays[i].shape[:2], shapes[i])]
    rng = np.random.default_rng(seed)
    if len(whole) <= max_crops:  # few pixels: every one of them, once
        picks = whole
    else:
        area = np.array([a.shape[0] * a.shape[1] for a in (arrays[i] for i in usable)], dtype=np.float64)
        chosen = rng.choice(len(usable), size=max_crops, p=area / area.sum())
        picks = []
        for k in chosen.tolist():
            i = usable[k]
            (h, w), (height, width) = shapes[i], arrays[i].shape[:2]
            for _ in range(8):
                r, c = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
                if _valid_share(masks[i], r, c, h, w) >= MIN_VALID_SHARE:
                    picks.append((i, r, c))
                    break
    crops = []
    for i, r, c in picks:
        h, w = shapes[i]
        if _valid_share(masks[i], r, c, h, w) >= MIN_VALID_SHARE:
            crops.append(np.ascontiguousarray(arrays[i][r:r + h, c:c + w]))
    if not crops:
        raise PgsslError("the images hold no crop of imaged (valid) pixels to adapt the model on")
    return crops


def _grid(shape: tuple[int, ...], crop: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of non-overlapping crops covering most of an image."""
    (height, width), (h, w) = shape[:2], crop
    return [(r, c) for r in range(0, height - h + 1, h) for c in range(0, width - w + 1, w)]


def _valid_share(valid: np.ndarray | None, r: int, c: int, h: int, w: int) -> float:
    return 1.0 if valid is None else float(np.asarray(valid)[r:r + h, c:c + w].mean())


def adaptation_batches(crops: Sequence[np.ndarray], config: ModelConfig,
                       batch_size: int = BATCH_CROPS) -> list[torch.Tensor]:
    """Normalised float batches (N, C, H, W) of uint8 crops: crops of the same size go together, up to
    ``batch_size`` per batch (in the order given)."""
    by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}
    for crop in crops:
        by_shape.setdefault(crop.shape, []).append(crop)
    batches = []
    for group in by_shape.values():
        for start in range(0, len(group), batch_size):
            batches.append(images_to_tensor(np.stack(group[start:start + batch_size]), config.mean, config.std))
    return batches


def adapt_to_tiles(model: nn.Module, config: ModelConfig, images: Sequence[np.ndarray], alpha: float = ADAPT_ALPHA,
                   crop: int = CROP_PX, max_crops: int = MAX_CROPS, batch_size: int = BATCH_CROPS, seed: int = 0,
                   valid: Sequence[np.ndarray | None] | None = None,
                   device: str | torch.device | None = None) -> nn.Module:
    """:func:`adapt_batchnorm` on seeded crops of ``images`` (uint8 (H, W, C), already at the model's working
    GSD ``config.gsd_m`` as prediction would see them; see :func:`sample_crops`), with the product's blend
    factor :data:`ADAPT_ALPHA` unless ``alpha`` says otherwise. Returns the adapted copy.

    Raises:
        PgsslError: no image, none large enough, or a band count the model does not take.
    """
    crops = sample_crops(images, config.output_stride, crop, max_crops, seed, valid)
    bands = crops[0].shape[2] if crops[0].ndim == 3 else 1
    if bands != config.in_channels:
        raise PgsslError(f"the images have {bands} bands, the model takes {config.in_channels}")
    return adapt_batchnorm(model, adaptation_batches(crops, config, batch_size), alpha, device)
