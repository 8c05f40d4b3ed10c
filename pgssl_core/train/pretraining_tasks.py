"""The pretraining tasks, one class each: its head, its loss, its default weight and its random inputs.

A task class says what it needs from a step's batch (a second view, pseudo-labels, random inputs such as
holes), builds its own head on the shared encoder (:meth:`PretrainTask.build_head`), computes its output
from the encoder's features and scores it. :func:`register_task` puts it in :data:`PRETRAIN_TASKS`; its
``default_weight`` is its weight in every profile that does not set one (``TaskSettings.weights``).

Adding a task is one new class registered here (or in any module imported before the run) plus its test;
see ``docs/ARCHITECTURE.md``, "Adding a pretraining task".

Shapes: ``N`` tiles of this rank, ``C`` bands, views ``H`` x ``W``; features are the encoder's list of
maps, the deepest last.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train.losses import WeightedSegLoss

#: How the pretraining tasks share a step: all together, or one per step in turn.
TaskSchedule = Literal["joint", "alternate"]


@dataclass(frozen=True)
class TaskSettings:
    """The pretraining tasks' part of a profile.

    ``weights``: each task's weight in the summed loss (0 or absent switches a task off; the default is
    every registered task at its ``default_weight``); ``schedule``: ``joint`` (every active task every step)
    or ``alternate`` (one per step, in registry order); ``byol_momentum``: BYOL's target momentum at step 0
    (cosine to 1, Grill et al. 2020 use 0.996); ``proj_dim`` / ``proj_hidden``: BYOL's projector and
    predictor widths; ``inpaint_block`` (px) / ``inpaint_ratio`` (share of the area): the inpainting holes.
    """

    weights: dict[str, float] = field(default_factory=lambda: default_task_weights())
    schedule: TaskSchedule = "joint"
    byol_momentum: float = 0.996
    proj_dim: int = 128
    proj_hidden: int = 512
    inpaint_block: int = 4
    inpaint_ratio: float = 0.05


@dataclass
class PretrainBatch:
    """One step's inputs on this rank: two augmented views of the same tiles, normalised (N, C, H, W);
    per view the pseudo-label maps ``[labels (N, H, W) uint8, weights (N, H, W) float]`` (empty without
    pseudo-labels); ``drawn``: each active task's random inputs (see :meth:`PretrainTask.draw`)."""

    x1: torch.Tensor
    x2: torch.Tensor
    maps1: list[torch.Tensor]
    maps2: list[torch.Tensor]
    drawn: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of tiles N in each view."""
        return int(self.x1.shape[0])


class PretrainTask:
    """One pretraining task. The online encoder sees ``[view 1 (corrupted by the active tasks), view 2]``
    when any active task ``uses_second_view``, else view 1 alone; each task's :meth:`forward` reads those
    features through its own head.

    Class attributes: ``name`` (its key in profiles, events and the network's ``heads``),
    ``default_weight``, ``uses_second_view``, ``uses_pseudo_labels`` (the task needs the teacher's
    pseudo-labels; a round whose pseudo-labels were refused runs without it) and ``legacy_keys`` (state-dict
    prefixes its head's parts had on the pretraining network before tasks owned their heads, so older
    checkpoints and stage files still load).
    """

    name: ClassVar[str] = ""
    default_weight: ClassVar[float] = 1.0
    uses_second_view: ClassVar[bool] = False
    uses_pseudo_labels: ClassVar[bool] = False
    legacy_keys: ClassVar[dict[str, str]] = {}

    def build_head(self, unet: nn.Module, config: ModelConfig, settings: TaskSettings) -> nn.Module | None:
        """The task's head (None: it has none). ``unet`` is the U-Net whose encoder is the shared one (its
        decoder and segmentation head may be taken over); random initialisation draws from torch's global
        generator."""
        return None

    def draw(self, n: int, h: int, w: int, settings: TaskSettings, gen: torch.Generator) -> torch.Tensor | None:
        """Random inputs of the task for the step's whole global batch (before it is split over ranks)."""
        return None

    def corrupt(self, x1: torch.Tensor, batch: PretrainBatch) -> torch.Tensor:
        """View 1 as the online encoder sees it (unchanged by default)."""
        return x1

    def forward(self, head: nn.Module | None, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """The task's output from the online features (runs inside the network's forward pass)."""
        raise NotImplementedError

    def loss(self, output: torch.Tensor, batch: PretrainBatch, head: nn.Module | None) -> torch.Tensor:
        """Scalar loss of the task's output."""
        raise NotImplementedError

    def after_step(self, head: nn.Module | None, encoder: nn.Module, step: int, steps: int,
                   settings: TaskSettings) -> None:
        """Work after each optimizer step of ``steps`` (nothing by default)."""


#: The pretraining tasks by name, in registration order: the order their losses are added up and the
#: order ``alternate`` takes them in.
PRETRAIN_TASKS: dict[str, PretrainTask] = {}

TaskT = TypeVar("TaskT", bound=type[PretrainTask])


def register_task(cls: TaskT) -> TaskT:
    """Class decorator: put one instance of the task in :data:`PRETRAIN_TASKS` under its ``name``.

    Raises:
        ValueError: the class has no name, or the name is taken by another class.
    """
    registry = globals()["PRETRAIN_TASKS"]  # looked up at call time, so a test may swap in a copy
    if not cls.name:
        raise ValueError(f"pretraining task {cls.__name__} has no name")
    if cls.name in registry and type(registry[cls.name]) is not cls:
        raise ValueError(f"pretraining task name {cls.name!r} is taken by {type(registry[cls.name]).__name__}")
    registry[cls.name] = cls()
    return cls


def default_task_weights() -> dict[str, float]:
    """Every registered task at its ``default_weight``."""
    return {name: task.default_weight for name, task in PRETRAIN_TASKS.items()}


def active_tasks(weights: dict[str, float], schedule: str, step: int) -> list[PretrainTask]:
    """Tasks with a positive weight; ``alternate`` picks one of them per step in turn."""
    tasks = [task for name, task in PRETRAIN_TASKS.items() if weights.get(name, 0) > 0]
    if schedule == "alternate" and tasks:
        return [tasks[step % len(tasks)]]
    return tasks


class DecoderHead(nn.Module):
    """A U-Net decoder and a 3x3 output head: encoder features -> (N, out, H, W)."""

    def __init__(self, decoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.decoder = decoder
        self.head = head

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Decode the encoder features to the input's resolution."""
        return self.head(self.decoder(feats))


@register_task
class PseudoLabelSegmentation(PretrainTask):
    """Segmentation of both views against the teacher's pseudo-labels, each pixel weighted by the teacher's
    confidence (the weights are made by ``pseudo_labelling.confidence_weights``; the loss is
    :class:`~pgssl_core.train.losses.WeightedSegLoss`; logits (2N, 2, H, W)). Its head is the decoder and
    head of the U-Net the shared encoder comes from, so they transfer into the fine-tuned U-Net."""

    name = "seg"
    uses_second_view = True
    uses_pseudo_labels = True
    legacy_keys = {"seg_decoder.": "decoder.", "seg_head.": "head."}

    def __init__(self) -> None:
        self.loss_fn = WeightedSegLoss()

    def build_head(self, unet: nn.Module, config: ModelConfig, settings: TaskSettings) -> nn.Module:
        """The U-Net's own decoder and segmentation head."""
        return DecoderHead(unet.get_submodule("decoder"), unet.get_submodule("segmentation_head"))

    def forward(self, head: nn.Module | None, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Segmentation logits (2N, 2, H, W) of both views."""
        assert head is not None
        return head(feats)

    def loss(self, output: torch.Tensor, batch: PretrainBatch, head: nn.Module | None) -> torch.Tensor:
        """Confidence-weighted segmentation loss against both views' pseudo-labels."""
        return self.loss_fn(output, torch.cat([batch.maps1[0], batch.maps2[0]]),
                            torch.cat([batch.maps1[1], batch.maps2[1]]))


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


class ByolLoss(nn.Module):
    """forward(prediction (N, D), target projection (N, D)) -> scalar mean of 2 - 2 cos (range 0..4):
    BYOL's normalised regression loss (Grill et al., NeurIPS 2020, "Bootstrap your own latent").

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


class ByolHead(nn.Module):
    """BYOL's online projector and predictor, and its target: an exponential moving average of the shared
    encoder and of the projector (parameters AND BatchNorm buffers), never trained by gradients and always
    in eval mode."""

    def __init__(self, encoder: nn.Module, feat_dim: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.projector = mlp_head(feat_dim, hidden, dim)
        self.predictor = mlp_head(dim, hidden, dim)
        self.target_encoder = copy.deepcopy(encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for p in self.target_parameters():
            p.requires_grad_(False)
        self.train()

    def target_parameters(self) -> Iterator[nn.Parameter]:
        """The target's parameters (not trained by the optimizer)."""
        yield from self.target_encoder.parameters()
        yield from self.target_projector.parameters()

    def train(self, mode: bool = True) -> ByolHead:
        """Online parts follow ``mode``; the target stays in eval mode (running BN statistics, averaged in
        from the online network)."""
        super().train(mode)
        self.target_encoder.eval()
        self.target_projector.eval()
        return self

    def predict(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Online BYOL prediction (N, D) from the pooled deepest feature."""
        return self.predictor(self.projector(feats[-1].mean(dim=(-2, -1))))

    @torch.no_grad()
    def target_projection(self, x: torch.Tensor) -> torch.Tensor:
        """Target projection (N, D) of a normalised batch (N, C, H, W); no graph is built."""
        return self.target_projector(self.target_encoder(x)[-1].mean(dim=(-2, -1)))

    @torch.no_grad()
    def update_target(self, encoder: nn.Module, momentum: float) -> None:
        """Target = m * target + (1 - m) * online, for parameters and floating BN buffers; integer
        buffers (num_batches_tracked) are copied."""
        for target, online in ((self.target_encoder, encoder), (self.target_projector, self.projector)):
            for t, o in zip(target.parameters(), online.parameters(), strict=True):
                t.mul_(momentum).add_(o.detach(), alpha=1 - momentum)
            for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
                if tb.dtype.is_floating_point:
                    tb.mul_(momentum).add_(ob, alpha=1 - momentum)
                else:
                    tb.copy_(ob)


@register_task
class Byol(PretrainTask):
    """BYOL (Grill et al., NeurIPS 2020): the online prediction of each view (N, D) regresses the EMA
    target's projection of the other, clean view; symmetric. The target follows the online network
    after each step with the cosine momentum schedule (:func:`byol_momentum`)."""

    name = "byol"
    uses_second_view = True
    legacy_keys = {"projector.": "projector.", "predictor.": "predictor.", "target_encoder.": "target_encoder.",
                   "target_projector.": "target_projector."}

    def __init__(self) -> None:
        self.loss_fn = ByolLoss()

    def build_head(self, unet: nn.Module, config: ModelConfig, settings: TaskSettings) -> nn.Module:
        """Projector and predictor on the deepest feature, and the EMA target of the shared encoder."""
        encoder = unet.get_submodule("encoder")
        # An smp encoder lists its stages' channel counts; getattr because nn.Module types it Tensor | Module.
        feat_dim = getattr(encoder, "out_channels")[-1]
        return ByolHead(encoder, feat_dim, settings.proj_hidden, settings.proj_dim)

    def forward(self, head: nn.Module | None, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Online predictions (2N, D) of both views."""
        assert isinstance(head, ByolHead)
        return head.predict(feats)

    def loss(self, output: torch.Tensor, batch: PretrainBatch, head: nn.Module | None) -> torch.Tensor:
        """Symmetric BYOL loss: each view's prediction against the target projection of the other view."""
        assert isinstance(head, ByolHead)
        n = batch.n
        target = head.target_projection(torch.cat([batch.x1, batch.x2]))
        return (self.loss_fn(output[:n], target[n:]) + self.loss_fn(output[n:], target[:n])) / 2

    def after_step(self, head: nn.Module | None, encoder: nn.Module, step: int, steps: int,
                   settings: TaskSettings) -> None:
        """Move the EMA target towards the online network (momentum from ``settings.byol_momentum`` to 1)."""
        assert isinstance(head, ByolHead)
        head.update_target(encoder, byol_momentum(step, steps, settings.byol_momentum))


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


class MaskedReconstructionLoss(nn.Module):
    """forward(reconstruction (N, C, H, W), original (N, C, H, W), hole_mask (N, 1 or C, H, W) bool/0-1)
    -> mean squared error over masked pixels only (0 with a graph when nothing is masked). Taken over the
    holes only: the source code took it over the whole image, which mostly rewards copying visible pixels."""

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


@register_task
class Inpainting(PretrainTask):
    """Inpainting: square holes (``inpaint_block`` px, about ``inpaint_ratio`` of the area) are filled with
    the mean colour in view 1; a decoder of its own reconstructs (N, C, H, W), scored on the holes only
    (:class:`MaskedReconstructionLoss`)."""

    name = "inpaint"
    legacy_keys = {"inpaint_decoder.": "decoder.", "inpaint_head.": "head."}

    def __init__(self) -> None:
        self.loss_fn = MaskedReconstructionLoss()

    def build_head(self, unet: nn.Module, config: ModelConfig, settings: TaskSettings) -> nn.Module:
        """A decoder shaped like the U-Net's (borrowed from a second U-Net whose encoder is dropped) and a
        3x3 head to the input's bands."""
        from segmentation_models_pytorch.base import SegmentationHead

        decoder = create_model(config).get_submodule("decoder")
        return DecoderHead(decoder, SegmentationHead(config.decoder_channels[-1], config.in_channels, kernel_size=3))

    def draw(self, n: int, h: int, w: int, settings: TaskSettings, gen: torch.Generator) -> torch.Tensor:
        """Hole masks bool (n, 1, h, w): ``inpaint_block`` px cells, ``inpaint_ratio`` of the area."""
        return random_block_mask(n, h, w, settings.inpaint_block, settings.inpaint_ratio, gen)

    def corrupt(self, x1: torch.Tensor, batch: PretrainBatch) -> torch.Tensor:
        """View 1 with the holes set to 0 (the mean colour in normalised units)."""
        return x1.masked_fill(batch.drawn[self.name], 0.0)  # 0 in normalised units = the mean colour

    def forward(self, head: nn.Module | None, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Reconstruction (N, C, H, W) of view 1 from its features."""
        assert head is not None
        return head([f[:batch.n] for f in feats])

    def loss(self, output: torch.Tensor, batch: PretrainBatch, head: nn.Module | None) -> torch.Tensor:
        """MSE of the reconstruction against the clean view 1, on the holes only."""
        return self.loss_fn(output, batch.x1, batch.drawn[self.name])
