"""A run in progress: what its stages share and hand on to each other.

Each stage function (in ``segmenter.py`` and ``pretraining.py``) takes the :class:`Run`, the
round and its steps, trains, and leaves its network in ``run.model`` (the latest segmenter, the next
teacher) or ``run.pmodel`` (the pretraining network, continued across rounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from pgssl_core.models import ModelConfig
from pgssl_core.models.init_model import InitModel
from pgssl_core.models.model_file import load_weights_file, save_weights_file
from pgssl_core.train.data import TensorSet
from pgssl_core.train.loop import RunContext
from pgssl_core.train.plan import StageKind
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.profiles import Profile


@dataclass
class Run:
    """Shared state of one training run.

    ``labelled``/``pool``/``val`` are the run's tiles as tensors (every rank of a distributed job holds
    them all and trains on its rows of each global batch); ``task_weights`` are the pretraining tasks'
    weights for the run's method.
    """

    ctx: RunContext
    method: str
    profile: Profile
    init: InitModel
    model_config: ModelConfig
    labelled: TensorSet
    pool: TensorSet
    val: TensorSet | None
    task_weights: dict[str, float]
    confidence_weighting: bool = True
    model: nn.Module | None = None
    pmodel: PretrainModel | None = None

    def stage_file(self, rnd: int, name: str) -> Path:
        """``stages/r<round>-<name>.pt``: a finished stage's weights (or ``best`` after a fine-tune)."""
        return self.ctx.out_dir / "stages" / f"r{rnd}-{name}.pt"

    def finished(self, rnd: int, kind: StageKind, module: nn.Module, steps: int) -> bool:
        """Load a finished stage's weights into ``module`` (resume) and count its steps as done."""
        path = self.stage_file(rnd, kind.value)
        if path.is_file():
            module.load_state_dict(load_weights_file(path, "stage file"))
            self.ctx.reporter.done_before += steps
            return True
        return False

    def save_stage(self, rnd: int, kind: StageKind, module: nn.Module) -> None:
        """Mark a stage finished by writing its weights (rank 0 writes; every rank holds the same)."""
        if self.ctx.dist.is_main:
            save_weights_file(self.stage_file(rnd, kind.value), module.state_dict())
