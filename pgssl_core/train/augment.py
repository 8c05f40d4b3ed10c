"""Joint image/label augmentations in torch: scale-crop, flips, 90-degree rotations, colour jitter, and
views that imitate other imagery: radiometry (gamma, colour balance, haze) and sensors (coarser sources,
panchromatic, blur, noise, JPEG compression).

Every transform works on any band count C (JPEG only on 1 or 3 bands). Geometric transforms move the image
and each per-pixel map (mask, pseudo-label, confidence weight) together; the others touch the image only.
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
    (panchromatic sources).

    Views of other imagery, each with its own probability (0 switches it off, the default, so a profile
    without them draws exactly the same views as before they existed): ``radiometric_p``: a gamma drawn
    log-uniformly in [1/``gamma``, ``gamma``], a per-band gain in [1 - ``balance``, 1 + ``balance``]
    (colour balance of another sensor or sun angle) and, half the time, haze (a blend of up to ``haze`` of
    the view with a light grey, as thin cloud or aerosol look from above); ``blur_p``: a Gaussian blur of
    sigma up to ``blur_sigma`` px (defocus, motion, a soft satellite PSF); ``noise_p``: Gaussian noise of sd
    up to ``noise_sd`` (in [0, 1] units; a dark or small-sensor scene); ``jpeg_p``: a JPEG round trip at a
    quality in [``jpeg_quality``, 95] (how most satellite tiles and web imagery reach a user)."""

    crop: int = 128
    scale: tuple[float, float] = (0.75, 1.25)
    flip: bool = True
    rot90: bool = True
    brightness: float = 0.1
    contrast: float = 0.1
    degrade: float = 1.0
    degrade_p: float = 0.0
    grey_p: float = 0.0
    radiometric_p: float = 0.0
    gamma: float = 1.5
    balance: float = 0.15
    haze: float = 0.35
    blur_p: float = 0.0
    blur_sigma: float = 1.5
    noise_p: float = 0.0
    noise_sd: float = 0.04
    jpeg_p: float = 0.0
    jpeg_quality: int = 30


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
    img = other_imagery(img, cfg, gen)
    return colour_jitter(img, cfg, gen), [m.contiguous() for m in out_maps]


def other_imagery(img: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """A float (C, H, W) view in [0, 1] made to look like imagery of another sensor, light or compression
    (see :class:`AugmentConfig`); each effect with its own probability, in the order light reaches a file:
    atmosphere and radiometry, then optics (blur), then the sensor (noise), then the encoder (JPEG)."""
    if cfg.radiometric_p > 0 and _rand(gen) < cfg.radiometric_p:
        img = radiometric(img, _rand(gen, -math.log(cfg.gamma), math.log(cfg.gamma)),
                          [_rand(gen, 1 - cfg.balance, 1 + cfg.balance) for _ in range(img.shape[0])],
                          _rand(gen, 0, cfg.haze) if _rand(gen) < 0.5 else 0.0)
    if cfg.blur_p > 0 and _rand(gen) < cfg.blur_p:
        img = gaussian_blur(img, _rand(gen, 0.5, cfg.blur_sigma))
    if cfg.noise_p > 0 and _rand(gen) < cfg.noise_p:
        sd = _rand(gen, 0.0, cfg.noise_sd)
        img = (img + torch.randn(img.shape, generator=gen) * sd).clamp(0, 1)
    if cfg.jpeg_p > 0 and img.shape[0] in (1, 3) and _rand(gen) < cfg.jpeg_p:
        img = jpeg_round_trip(img, round(_rand(gen, cfg.jpeg_quality, 95)))
    return img


def radiometric(img: torch.Tensor, log_gamma: float, gains: Sequence[float], haze: float) -> torch.Tensor:
    """``img`` (C, H, W) in [0, 1] with gamma ``exp(log_gamma)``, a gain per band (``gains``, C values) and
    a blend of ``haze`` (0-1) with light grey (0.8: the bright, low-contrast veil of haze or thin cloud)."""
    out = img.clamp(0, 1).pow(math.exp(log_gamma))
    out = out * torch.tensor(list(gains), dtype=out.dtype).view(-1, 1, 1)
    if haze > 0:
        out = out * (1 - haze) + 0.8 * haze
    return out.clamp(0, 1)


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """``img`` (C, H, W) blurred by a separable Gaussian of ``sigma`` px (kernel radius 3 sigma, edges
    reflected, so the view keeps its size and no dark border appears)."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=img.dtype)
    kernel = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = img.shape[0]
    out = F.pad(img[None], (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
    out = F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)
    return out[0]


def jpeg_round_trip(img: torch.Tensor, quality: int) -> torch.Tensor:
    """``img`` (1 or 3, H, W) in [0, 1] encoded as JPEG at ``quality`` (1-100) and decoded (torchvision's
    libjpeg): the block artefacts and colour smearing of compressed imagery."""
    from torchvision.io import decode_jpeg, encode_jpeg  # torchvision: only when a profile asks for JPEG views

    data = encode_jpeg((img.clamp(0, 1) * 255).round().to(torch.uint8).contiguous(), quality=quality)
    return decode_jpeg(data).float() / 255.0


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
