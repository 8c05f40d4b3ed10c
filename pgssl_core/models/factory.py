"""Name-to-network factory for the segmentation models (segmentation_models_pytorch U-Net).

Random initialisation is the default (no network to download ImageNet weights here); a local
weight file for the encoder can be given with ``encoder_weights_path``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pgssl_core.errors import ModelFileError

# ImageNet statistics: harmless for random initialisation and required by ImageNet weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a network and feed it correctly.

    ``classes`` is 2 (background, building): the network outputs logits of shape (N, 2, H, W).
    ``mean``/``std`` apply to images scaled to [0, 1], one value per input band.
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decoder_channels"] = list(self.decoder_channels)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("decoder_channels", "mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


_ARCHS = {"unet": "Unet", "unetplusplus": "UnetPlusPlus", "fpn": "FPN"}


def create_model(config: ModelConfig | None = None, encoder_weights_path: str | Path | None = None,
                 **overrides: Any) -> nn.Module:
    """Build a randomly initialised segmentation network from ``config`` (plus keyword overrides).

    Input: float tensor (N, in_channels, H, W), H and W multiples of 2**encoder_depth.
    Output: logits (N, classes, H, W).
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
    kwargs: dict[str, Any] = dict(encoder_name=cfg.encoder, encoder_weights=None, in_channels=cfg.in_channels,
                                  classes=cfg.classes, encoder_depth=cfg.encoder_depth)
    if cfg.arch != "fpn":
        kwargs["decoder_channels"] = list(cfg.decoder_channels)
    try:
        model = model_cls(**kwargs)
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"cannot build {cfg.arch} with encoder {cfg.encoder!r}: {exc}") from exc
    if encoder_weights_path is not None:
        load_encoder_weights(model.encoder, encoder_weights_path)
    return model


def load_encoder_weights(encoder: nn.Module, path: str | Path) -> None:
    """Load a local encoder state dict (e.g. ImageNet ResNet weights) with ``weights_only=True``.

    Classifier keys (``fc.*``) that an encoder does not have are ignored; any other mismatch is an error.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise ModelFileError(f"cannot read encoder weights {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelFileError(
            f"encoder weights {path} do not fit: {len(missing)} missing, {len(unexpected)} unexpected keys")
