"""The pretraining network: one shared encoder and the heads of the pretraining tasks.

Each task of :data:`~pgssl_core.train.pretraining_tasks.PRETRAIN_TASKS` builds its own head
(``PretrainTask.build_head``; the BYOL head carries the EMA target), kept in ``heads[<task name>]``. The
encoder is that of ``pgssl_core.models.create_model``, so its state dict transfers into a fresh U-Net
unchanged; so does the segmentation task's decoder and head.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train.pretraining_tasks import PRETRAIN_TASKS, PretrainBatch, PretrainTask, TaskSettings

#: The built-in heads are built, and randomly initialised from torch's global generator, in this order
#: (then any other task in registry order): the order the network has always drawn its weights in, so
#: a seed gives the same network, and the same run, as before the tasks owned their heads.
HEAD_BUILD_ORDER = ("seg", "inpaint", "byol")


def _build_order(tasks: dict[str, PretrainTask]) -> list[str]:
    first = [name for name in HEAD_BUILD_ORDER if name in tasks]
    return first + [name for name in tasks if name not in first]


class PretrainModel(nn.Module):
    """Shared encoder plus one head per registered pretraining task (``heads``)."""

    def __init__(self, config: ModelConfig, settings: TaskSettings | None = None) -> None:
        super().__init__()
        settings = settings or TaskSettings()
        # get_submodule (not attribute access) so that the parts are typed nn.Module, not Tensor | Module.
        unet = create_model(config)
        self.config = config
        self.encoder = unet.get_submodule("encoder")
        self.heads = nn.ModuleDict()
        for name in _build_order(PRETRAIN_TASKS):
            head = PRETRAIN_TASKS[name].build_head(unet, config, settings)
            if head is not None:
                self.heads[name] = head
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def head(self, name: str) -> nn.Module | None:
        """The head of task ``name`` (None: the task has none)."""
        return self.heads[name] if name in self.heads else None

    @torch.no_grad()
    def start_from(self, unet: nn.Module) -> None:
        """Copy a U-Net's encoder, decoder and head (e.g. the base model's) into the online encoder and
        the pseudo-label segmentation head; the BYOL target (when there is one) starts equal to the online
        encoder."""
        self.encoder.load_state_dict(unet.get_submodule("encoder").state_dict())
        seg = self.heads["seg"]
        seg.get_submodule("decoder").load_state_dict(unet.get_submodule("decoder").state_dict())
        seg.get_submodule("head").load_state_dict(unet.get_submodule("segmentation_head").state_dict())
        if "byol" in self.heads:
            self.heads["byol"].get_submodule("target_encoder").load_state_dict(self.encoder.state_dict())

    def online_parameters(self) -> list[nn.Parameter]:
        """Parameters the optimizer trains: all but those frozen by their task (BYOL's target)."""
        return [p for p in self.parameters() if p.requires_grad]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features of a normalised batch (N, C, H, W)."""
        return self.encoder(x)


def _rename_legacy_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    """Load hook: rename a state dict of the network before the tasks owned their heads (``seg_decoder.*``,
    ``projector.*``, ...; each task's ``legacy_keys``) to ``heads.<task>.*``, in place."""
    for name, task in PRETRAIN_TASKS.items():
        for old, new in task.legacy_keys.items():
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict[f"{prefix}heads.{name}.{new}{key[len(prefix + old):]}"] = state_dict.pop(key)


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
        return {task.name: task.forward(self.model.head(task.name), feats, batch) for task in tasks}
