"""Name-to-network factory for the segmentation networks (segmentation_models_pytorch U-Net).

Networks start from random weights (no network to download ImageNet weights here); trained weights come
from model files (:mod:`pgssl_core.models.model_file`), e.g. the shipped base model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from pgssl_core.errors import ModelFileError
from pgssl_core.io.dataclass_dict import DictConfig

# ImageNet statistics: harmless for random initialisation and required by ImageNet weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ModelConfig(DictConfig):
    """Everything needed to rebuild a network and feed it correctly.

    ``classes`` is 2 (background, building): the network outputs logits of shape (N, 2, H, W).
    ``mean``/``std`` apply to images scaled to [0, 1], one value per input band. ``to_dict`` / ``from_dict``
    (from :class:`~pgssl_core.io.dataclass_dict.DictConfig`) write and read it as in ``model_config.json``.
    """

    arch: str = "unet"
    encoder: str = "resnet18"
    in_channels: int = 3
    classes: int = 2
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    # Working ground resolution (m/px) the network was trained at; inference resamples inputs to it.
    # None: trained on tiles of unknown GSD, applied at native resolution.
    gsd_m: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output_stride(self) -> int:
        """Total down-sampling of the encoder (px): input sides must be multiples of it.

        ``2 ** encoder_depth``, the value segmentation_models_pytorch reports as ``encoder.output_stride``
        for the U-Nets built here (a test checks they agree); read from the config so that callers
        without a network (tiling, padding) get it too.
        """
        return 2 ** int(self.encoder_depth)


_ARCHS = {"unet": "Unet"}


def create_model(config: ModelConfig | None = None, **overrides: Any) -> nn.Module:
    """Build a randomly initialised segmentation network from ``config`` (plus keyword overrides).

    Input: float tensor (N, in_channels, H, W), H and W multiples of ``config.output_stride``.
    Output: logits (N, classes, H, W).

    Raises:
        ModelFileError: unknown architecture or encoder, or ``decoder_channels`` not one per encoder stage.
    """
    import segmentation_models_pytorch as smp  # heavy import, deferred

    cfg = config or ModelConfig()
    if overrides:
        cfg = ModelConfig.from_dict({**cfg.to_dict(), **overrides})
    if cfg.arch not in _ARCHS:
        raise ModelFileError(f"unknown architecture {cfg.arch!r}; choose one of {sorted(_ARCHS)}")
    if len(cfg.decoder_channels) != cfg.encoder_depth:
        raise ModelFileError("decoder_channels must have one entry per encoder stage (encoder_depth)")
    model_cls = getattr(smp, _ARCHS[cfg.arch])
    try:
        return model_cls(encoder_name=cfg.encoder, encoder_weights=None, in_channels=cfg.in_channels,
                         classes=cfg.classes, encoder_depth=cfg.encoder_depth,
                         decoder_channels=list(cfg.decoder_channels))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"cannot build {cfg.arch} with encoder {cfg.encoder!r}: {exc}") from exc
