"""The teacher (round 1 of pgssl) and the ``supervised`` baseline: a U-Net trained on the labelled tiles
from the run's starting model (the base model, random weights or a model file)."""

from __future__ import annotations

from torch import nn

from pgssl_core.models import ModelConfig, create_model
from pgssl_core.models.init_model import InitModel
from pgssl_core.train.plan import StageKind
from pgssl_core.train.run import Run
from pgssl_core.train.segmenter import train_segmenter


def start_model(config: ModelConfig, init: InitModel) -> nn.Module:
    """A U-Net for the teacher or the supervised baseline: the init model's weights, or random."""
    model = create_model(config)
    if init.model is not None:
        model.load_state_dict(init.model.state_dict())
    return model


def _train_from_start(run: Run, kind: StageKind, rnd: int, steps: int) -> None:
    model = start_model(run.model_config, run.init)
    if not run.finished(rnd, kind, model, steps):
        # A model that does not start at random is validated at step 0, so that selection on val can keep
        # it when training on few labels makes it worse.
        model = train_segmenter(run.ctx, kind.value, rnd, model, run.model_config, run.labelled, run.val,
                                run.profile, steps, validate_at_start=run.init.model is not None)
        run.save_stage(rnd, kind, model)
    run.model = model.to(run.ctx.device).eval()


def train_teacher(run: Run, rnd: int, steps: int) -> None:
    """Stage ``teacher``: the first teacher of pgssl, supervised on the labelled tiles; leaves it in
    ``run.model`` for the first round's pseudo-labels."""
    _train_from_start(run, StageKind.TEACHER, rnd, steps)


def train_supervised_baseline(run: Run, rnd: int, steps: int) -> None:
    """Stage ``supervised``: the baseline without pretraining, the same training as the teacher for the
    labelled-data steps of a whole pgssl run; leaves the final model in ``run.model``."""
    _train_from_start(run, StageKind.SUPERVISED, rnd, steps)
