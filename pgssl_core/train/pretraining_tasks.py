"""The pretraining tasks, one class each, and their registry :data:`PRETRAIN_TASKS`.

A task says what it needs from a step's batch (a second view, pseudo-labels, random inputs such as
holes), which head of :class:`~pgssl_core.train.pretrain_model.PretrainModel` it reads, and its loss.
A new task is one class here plus one entry in :data:`PRETRAIN_TASKS` (and a head on the pretraining
network when none of the existing ones fits); its weight in ``Profile.task_weights`` switches it on.

Shapes: ``N`` tiles of this rank, ``C`` bands, views ``H`` x ``W``; features are the encoder's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from pgssl_core.train.losses import ByolLoss, MaskedReconstructionLoss, WeightedSegLoss
from pgssl_core.train.pretrain_model import PretrainModel, byol_momentum, random_block_mask

if TYPE_CHECKING:  # Profile checks its task names against this registry
    from pgssl_core.train.profiles import Profile


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
    when any active task ``uses_second_view``, else view 1 alone."""

    name = ""
    uses_second_view = False
    uses_pseudo_labels = False

    def draw(self, n: int, h: int, w: int, profile: Profile, gen: torch.Generator) -> torch.Tensor | None:
        """Random inputs of the task for the step's whole global batch (before it is split over ranks)."""
        return None

    def corrupt(self, x1: torch.Tensor, batch: PretrainBatch) -> torch.Tensor:
        """View 1 as the online encoder sees it (unchanged by default)."""
        return x1

    def head(self, model: PretrainModel, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """The task's output from the online features (runs inside the network's forward pass)."""
        raise NotImplementedError

    def loss(self, output: torch.Tensor, batch: PretrainBatch, model: PretrainModel) -> torch.Tensor:
        """Scalar loss of the task's output."""
        raise NotImplementedError

    def after_step(self, model: PretrainModel, step: int, steps: int, profile: Profile) -> None:
        """Work after each optimizer step (nothing by default)."""


class PseudoLabelSegmentation(PretrainTask):
    """Segmentation of both views against the teacher's pseudo-labels, weighted by its confidence
    (:class:`~pgssl_core.train.losses.WeightedSegLoss`; logits (2N, 2, H, W))."""

    name = "seg"
    uses_second_view = True
    uses_pseudo_labels = True

    def __init__(self) -> None:
        self.loss_fn = WeightedSegLoss()

    def head(self, model: PretrainModel, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Segmentation logits (2N, 2, H, W) of both views."""
        return model.segment(feats)

    def loss(self, output: torch.Tensor, batch: PretrainBatch, model: PretrainModel) -> torch.Tensor:
        """Confidence-weighted segmentation loss against both views' pseudo-labels."""
        return self.loss_fn(output, torch.cat([batch.maps1[0], batch.maps2[0]]),
                            torch.cat([batch.maps1[1], batch.maps2[1]]))


class Byol(PretrainTask):
    """BYOL (Grill et al., NeurIPS 2020): the online prediction of each view (N, D) regresses the EMA
    target's projection of the other, clean view; symmetric. The target follows the online network
    after each step with the cosine momentum schedule (:func:`byol_momentum`)."""

    name = "byol"
    uses_second_view = True

    def __init__(self) -> None:
        self.loss_fn = ByolLoss()

    def head(self, model: PretrainModel, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Online predictions (2N, D) of both views."""
        return model.predict(feats)

    def loss(self, output: torch.Tensor, batch: PretrainBatch, model: PretrainModel) -> torch.Tensor:
        """Symmetric BYOL loss: each view's prediction against the target projection of the other view."""
        n = batch.n
        target = model.target_projection(torch.cat([batch.x1, batch.x2]))
        return (self.loss_fn(output[:n], target[n:]) + self.loss_fn(output[n:], target[:n])) / 2

    def after_step(self, model: PretrainModel, step: int, steps: int, profile: Profile) -> None:
        """Move the EMA target towards the online network (momentum from ``profile.byol_momentum`` to 1)."""
        model.update_target(byol_momentum(step, steps, profile.byol_momentum))


class Inpainting(PretrainTask):
    """Inpainting: square holes (``profile.inpaint_block`` px, about ``inpaint_ratio`` of the area) are
    filled with the mean colour in view 1; the reconstruction (N, C, H, W) is scored on the holes only
    (:class:`~pgssl_core.train.losses.MaskedReconstructionLoss`)."""

    name = "inpaint"

    def __init__(self) -> None:
        self.loss_fn = MaskedReconstructionLoss()

    def draw(self, n: int, h: int, w: int, profile: Profile, gen: torch.Generator) -> torch.Tensor:
        """Hole masks bool (n, 1, h, w): ``profile.inpaint_block`` px cells, ``profile.inpaint_ratio`` of the area."""
        return random_block_mask(n, h, w, profile.inpaint_block, profile.inpaint_ratio, gen)

    def corrupt(self, x1: torch.Tensor, batch: PretrainBatch) -> torch.Tensor:
        """View 1 with the holes set to 0 (the mean colour in normalised units)."""
        return x1.masked_fill(batch.drawn[self.name], 0.0)  # 0 in normalised units = the mean colour

    def head(self, model: PretrainModel, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        """Reconstruction (N, C, H, W) of view 1 from its features."""
        return model.inpaint([f[:batch.n] for f in feats])

    def loss(self, output: torch.Tensor, batch: PretrainBatch, model: PretrainModel) -> torch.Tensor:
        """MSE of the reconstruction against the clean view 1, on the holes only."""
        return self.loss_fn(output, batch.x1, batch.drawn[self.name])


#: The pretraining tasks by name, in the order their losses are added up.
PRETRAIN_TASKS: dict[str, PretrainTask] = {task.name: task for task in (PseudoLabelSegmentation(), Byol(),
                                                                       Inpainting())}


def active_tasks(weights: dict[str, float], schedule: str, step: int) -> list[PretrainTask]:
    """Tasks with a positive weight; ``alternate`` picks one of them per step in turn."""
    tasks = [task for name, task in PRETRAIN_TASKS.items() if weights.get(name, 0) > 0]
    if schedule == "alternate" and tasks:
        return [tasks[step % len(tasks)]]
    return tasks


class OnlineHeads(nn.Module):
    """The pretraining network's forward pass for one step: the online encoder on ``x`` and the active
    tasks' heads. One module call, so that DistributedDataParallel sees every output that gets a loss."""

    def __init__(self, model: PretrainModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, tasks: list[PretrainTask], batch: PretrainBatch) -> dict[str, torch.Tensor]:
        """Run the online encoder on ``x`` and each task's head on its features.

        Returns:
            Each task's output by task name.
        """
        feats = self.model.features(x)
        return {task.name: task.head(self.model, feats, batch) for task in tasks}
