"""Joint image/label augmentations in torch: scale-crop, flips, 90-degree rotations, colour jitter.

Every transform works on any band count C. Geometric transforms move the image and each per-pixel
map (mask, pseudo-label, confidence weight) together; colour jitter touches the image only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """``crop``: output side in pixels; ``scale``: range of the crop side relative to ``crop``, drawn
    log-uniformly (a 1.25 crop covers more ground and is shrunk); ``brightness``/``contrast``: max jitter
    per band; ``degrade``: with probability ``degrade_p`` the view is shrunk by a factor drawn in
    [1, ``degrade``] and enlarged back, which imitates imagery whose true GSD is that much coarser than the
    working GSD (a 1 m source read at 0.3 m); ``grey_p``: probability of a band-mean grey view
    (panchromatic sources)."""

    crop: int = 128
    scale: tuple[float, float] = (0.75, 1.25)
    flip: bool = True
    rot90: bool = True
    brightness: float = 0.1
    contrast: float = 0.1
    degrade: float = 1.0
    degrade_p: float = 0.0
    grey_p: float = 0.0


def _rand(gen: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen))


def _randint(gen: torch.Generator, high: int) -> int:
    return int(torch.randint(high, (), generator=gen)) if high > 0 else 0


def _crop_pad(t: torch.Tensor, top: int, left: int, side: int, fill: float) -> torch.Tensor:
    """Crop (..., H, W) to ``side`` x ``side`` at (top, left), padding with ``fill`` past the edges."""
    h, w = t.shape[-2:]
    out = t[..., top:top + side, left:left + side]
    ph, pw = side - out.shape[-2], side - out.shape[-1]
    if ph or pw:
        out = F.pad(out, (0, pw, 0, ph), value=fill)
    return out


def random_view(image: torch.Tensor, maps: Sequence[torch.Tensor], fills: Sequence[float], cfg: AugmentConfig,
                gen: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One augmented view of a single tile.

    ``image``: uint8 or float (C, H, W); ``maps``: per-pixel maps (H, W) (e.g. mask uint8, weight float),
    padded with ``fills`` outside the tile. Returns float image (C, crop, crop) in [0, 1] and the maps
    (crop, crop) in their own dtypes (nearest-neighbour, so labels stay labels).
    """
    h, w = image.shape[-2:]
    lo, hi = (math.log(v) for v in cfg.scale)
    side = max(8, round(cfg.crop * math.exp(_rand(gen, lo, hi))))
    top, left = _randint(gen, h - side + 1), _randint(gen, w - side + 1)
    img = _crop_pad(image, top, left, side, 0).float()
    if image.dtype == torch.uint8:
        img = img / 255.0
    out_maps = [_crop_pad(m, top, left, side, fill) for m, fill in zip(maps, fills, strict=True)]
    if side != cfg.crop:
        img = F.interpolate(img[None], size=(cfg.crop, cfg.crop), mode="bilinear", align_corners=False)[0]
        out_maps = [F.interpolate(m[None, None].float(), size=(cfg.crop, cfg.crop), mode="nearest")[0, 0].to(m.dtype)
                    for m in out_maps]
    if cfg.flip and _rand(gen) < 0.5:
        img, out_maps = img.flip(-1), [m.flip(-1) for m in out_maps]
    if cfg.flip and _rand(gen) < 0.5:
        img, out_maps = img.flip(-2), [m.flip(-2) for m in out_maps]
    if cfg.rot90:
        k = _randint(gen, 4)
        if k:
            img, out_maps = img.rot90(k, (-2, -1)), [m.rot90(k, (-2, -1)) for m in out_maps]
    if cfg.degrade > 1 and cfg.degrade_p > 0 and _rand(gen) < cfg.degrade_p:
        img = degrade_resolution(img, _rand(gen, 1.0, cfg.degrade))
    if cfg.grey_p > 0 and _rand(gen) < cfg.grey_p:
        img = img.mean(dim=0, keepdim=True).expand_as(img)
    return colour_jitter(img, cfg, gen), [m.contiguous() for m in out_maps]


def degrade_resolution(img: torch.Tensor, factor: float) -> torch.Tensor:
    """A float (C, H, W) view shrunk by ``factor`` (area average) and enlarged back (bilinear): the same
    grid with the detail of a ``factor`` times coarser source."""
    h, w = img.shape[-2:]
    small = (max(1, round(h / factor)), max(1, round(w / factor)))
    if small == (h, w):
        return img
    low = F.interpolate(img[None], size=small, mode="area")
    return F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)[0]


def colour_jitter(img: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Per-band brightness/contrast jitter of a float (C, H, W) image in [0, 1] (any C)."""
    if cfg.brightness <= 0 and cfg.contrast <= 0:
        return img.contiguous()
    c = img.shape[0]
    gain = 1 + (torch.rand(c, 1, 1, generator=gen) * 2 - 1) * cfg.contrast
    shift = (torch.rand(c, 1, 1, generator=gen) * 2 - 1) * cfg.brightness
    mean = img.mean(dim=(-2, -1), keepdim=True)
    return ((img - mean) * gain + mean + shift).clamp_(0, 1).contiguous()


def make_batch(images: Sequence[torch.Tensor], maps: Sequence[Sequence[torch.Tensor]], fills: Sequence[float],
               cfg: AugmentConfig, gen: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Stack one random view per tile: image (N, C, crop, crop) in [0, 1] and each map (N, crop, crop)."""
    views = [random_view(img, m, fills, cfg, gen) for img, m in zip(images, maps, strict=True)]
    batch = torch.stack([v[0] for v in views])
    stacked = [torch.stack([v[1][i] for v in views]) for i in range(len(fills))]
    return batch, stacked
