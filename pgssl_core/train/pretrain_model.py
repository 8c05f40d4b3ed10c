"""The pretraining network: one shared encoder, three heads, and the EMA target of BYOL.

- segmentation decoder + head -> logits (N, 2, H, W) for the pseudo-label task;
- BYOL projector + predictor on the globally pooled deepest feature -> (N, D);
- inpainting decoder + head -> reconstruction (N, C, H, W) of the normalised input;
- target encoder + projector: an exponential moving average of the online ones (parameters AND
  BatchNorm buffers), never trained by gradients and always run in eval mode.

The encoder and decoders are those of ``pgssl_core.models.create_model``, so the encoder's state dict
transfers into a fresh U-Net unchanged.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import torch
from torch import nn

from pgssl_core.models import ModelConfig, create_model


def mlp_head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """BYOL's projector/predictor shape: Linear -> BatchNorm -> ReLU -> Linear. (N, in) -> (N, out)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, out_dim))


def byol_momentum(step: int, total: int, base: float = 0.996) -> float:
    """Cosine schedule of the target momentum from ``base`` at step 0 to 1.0 at ``total``."""
    if total <= 0:
        return 1.0
    frac = min(max(step / total, 0.0), 1.0)
    return 1.0 - (1.0 - base) * (math.cos(math.pi * frac) + 1) / 2


def random_block_mask(n: int, h: int, w: int, block: int, ratio: float, gen: torch.Generator) -> torch.Tensor:
    """Random square holes: bool (N, 1, H, W), True inside masked ``block`` x ``block`` cells, about
    ``ratio`` of the area. At least one block per image is masked so the loss is never empty."""
    gh, gw = -(-h // block), -(-w // block)
    cells = torch.rand(n, 1, gh, gw, generator=gen) < ratio
    flat = cells.view(n, -1)
    empty = ~flat.any(dim=1)
    if empty.any():
        pick = torch.randint(flat.shape[1], (int(empty.sum()),), generator=gen)
        flat[empty.nonzero().squeeze(1), pick] = True
    mask = cells.repeat_interleave(block, dim=2).repeat_interleave(block, dim=3)
    return mask[..., :h, :w]


class PretrainModel(nn.Module):
    """Shared encoder with segmentation, BYOL and inpainting heads plus the EMA target."""

    def __init__(self, config: ModelConfig, proj_dim: int = 128, proj_hidden: int = 512) -> None:
        super().__init__()
        from segmentation_models_pytorch.base import SegmentationHead

        # get_submodule (not attribute access) so that the parts are typed nn.Module, not Tensor | Module.
        seg = create_model(config)
        self.config = config
        self.encoder = seg.get_submodule("encoder")
        self.seg_decoder = seg.get_submodule("decoder")
        self.seg_head = seg.get_submodule("segmentation_head")
        # A second U-Net only to borrow an identically shaped decoder; its encoder is dropped.
        self.inpaint_decoder = create_model(config).get_submodule("decoder")
        self.inpaint_head = SegmentationHead(config.decoder_channels[-1], config.in_channels, kernel_size=3)
        # An smp encoder lists its stages' channel counts; getattr because nn.Module types it Tensor | Module.
        out_channels: list[int] = getattr(self.encoder, "out_channels")
        feat_dim = out_channels[-1]
        self.projector = mlp_head(feat_dim, proj_hidden, proj_dim)
        self.predictor = mlp_head(proj_dim, proj_hidden, proj_dim)
        self.target_encoder = copy.deepcopy(self.encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for p in self._target_modules_params():
            p.requires_grad_(False)
        self.target_encoder.eval()
        self.target_projector.eval()

    @torch.no_grad()
    def start_from(self, unet: nn.Module) -> None:
        """Copy a U-Net's encoder, decoder and head (e.g. the base model's) into the online encoder and
        the pseudo-label segmentation branch; the target encoder starts equal to the online one."""
        for dst, name in ((self.encoder, "encoder"), (self.seg_decoder, "decoder"),
                          (self.seg_head, "segmentation_head")):
            src = unet.get_submodule(name)
            dst.load_state_dict(src.state_dict())
        self.target_encoder.load_state_dict(self.encoder.state_dict())

    def _target_modules_params(self) -> Iterator[nn.Parameter]:
        yield from self.target_encoder.parameters()
        yield from self.target_projector.parameters()

    def train(self, mode: bool = True) -> PretrainModel:
        """Online parts follow ``mode``; the target always stays in eval mode (running BN statistics,
        which are averaged in from the online network)."""
        super().train(mode)
        self.target_encoder.eval()
        self.target_projector.eval()
        return self

    def online_parameters(self) -> list[nn.Parameter]:
        """Parameters the optimizer trains (everything except the target)."""
        target = {id(p) for p in self._target_modules_params()}
        return [p for p in self.parameters() if id(p) not in target]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features of a normalised batch (N, C, H, W)."""
        return self.encoder(x)

    def segment(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Segmentation logits (N, 2, H, W)."""
        return self.seg_head(self.seg_decoder(feats))

    def inpaint(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Reconstruction (N, C, H, W) in normalised units."""
        return self.inpaint_head(self.inpaint_decoder(feats))

    def predict(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Online BYOL prediction (N, D) from the pooled deepest feature."""
        return self.predictor(self.projector(feats[-1].mean(dim=(-2, -1))))

    @torch.no_grad()
    def target_projection(self, x: torch.Tensor) -> torch.Tensor:
        """Target projection (N, D) of a normalised batch; no graph is built."""
        return self.target_projector(self.target_encoder(x)[-1].mean(dim=(-2, -1)))

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """Target = m * target + (1 - m) * online, for parameters and floating BN buffers; integer
        buffers (num_batches_tracked) are copied."""
        pairs = ((self.target_encoder, self.encoder), (self.target_projector, self.projector))
        for target, online in pairs:
            for t, o in zip(target.parameters(), online.parameters(), strict=True):
                t.mul_(momentum).add_(o.detach(), alpha=1 - momentum)
            for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
                if tb.dtype.is_floating_point:
                    tb.mul_(momentum).add_(ob, alpha=1 - momentum)
                else:
                    tb.copy_(ob)
