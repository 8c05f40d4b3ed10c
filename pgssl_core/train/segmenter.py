"""Supervised training of a U-Net on labelled pixels, and the stages made of it: the teacher (round 1 of
pgssl) and the ``supervised`` baseline, from the run's starting model (the base model, random weights or a
model file); transfer of the pretrained encoder (and optionally the pseudo-label decoder) into a fresh U-Net
and its fine-tune on the labelled tiles, which becomes the next round's teacher. Also the weight average that
selection validates."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from pgssl_core.distributed import wrap_module
from pgssl_core.io import atomic_write_bytes
from pgssl_core.models import ModelConfig, create_model
from pgssl_core.models.device import autocast
from pgssl_core.models.init_model import InitModel
from pgssl_core.models.preprocess import normalise
from pgssl_core.train.augment import AugmentConfig, make_batch
from pgssl_core.train.data import IGNORE, TensorSet, training_input, training_module
from pgssl_core.train.loop import RunContext, Stage, run_stage
from pgssl_core.train.losses import WeightedSegLoss
from pgssl_core.train.metrics import evaluate_sharded
from pgssl_core.train.optim import make_optimizer
from pgssl_core.train.plan import StageKind
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.profiles import AugmentSettings, Profile
from pgssl_core.train.run import Run


def augment_config(views: AugmentSettings) -> AugmentConfig:
    """The training views of a profile (crop, scale, degradation, grey, other sensors and light)."""
    return AugmentConfig(crop=views.crop, scale=views.scale, degrade=views.degrade, degrade_p=views.degrade_p,
                         grey_p=views.grey_p, radiometric_p=views.radiometric_p, blur_p=views.sensor_p,
                         noise_p=views.sensor_p, jpeg_p=views.sensor_p)


def draw_tiles(weights: torch.Tensor, batch: int, gen: torch.Generator) -> list[int]:
    """``batch`` tile indices drawn with replacement in proportion to ``weights`` (N,).

    In a distributed job every rank draws the same global batch (the run's generator has the same seed
    and state everywhere) and trains on its own rows of it (``RunContext.local_rows``).
    """
    return torch.multinomial(weights, batch, replacement=True, generator=gen).tolist()


class WeightAverage:
    """Exponential moving average of a network's state (parameters and BatchNorm buffers).

    Validating and keeping the averaged weights instead of the last step's makes model selection steady
    on few labels: the last-step weights of a short CPU run swing by +-0.1 val IoU between evaluations.
    The decay ramps up as ``min(decay, (1 + step) / (10 + step))`` so early averages are not dominated by
    the starting weights (the schedule of TensorFlow's ExponentialMovingAverage with ``num_updates``).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend ``model``'s state into the average with decay ``min(decay, (1 + step) / (10 + step))``.

        Floating-point tensors are averaged; integer buffers (e.g. BatchNorm's batch count) are copied.
        """
        d = min(self.decay, (1 + step) / (10 + step))
        live = model.state_dict()
        for name, avg in self.model.state_dict().items():
            src = live[name].detach()
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(src.to(avg.dtype), alpha=1 - d)
            else:
                avg.copy_(src)


def validator(ctx: RunContext, model: nn.Module, config: ModelConfig,
              val: TensorSet | None) -> Callable[[], dict[str, float]] | None:
    """The validation of a stage (None without validation tiles): figures over all ``val`` tiles, the
    tiles spread over the ranks of a distributed job."""
    if val is None or len(val) == 0:
        return None
    return lambda: evaluate_sharded(model, config, val, ctx.device, ctx.dist)


def train_segmenter(ctx: RunContext, name: str, rnd: int, model: nn.Module, config: ModelConfig,
                    labelled: TensorSet, val: TensorSet | None, profile: Profile, steps: int,
                    frozen_warmup: int = 0, validate_at_start: bool = False, lr: float | None = None) -> nn.Module:
    """Supervised training of a U-Net on labelled pixels (255 ignored) with CE + Dice.

    Used for the teacher, the ``supervised`` baseline and the fine-tune after transfer. During the
    first ``frozen_warmup`` steps the encoder gets no updates and keeps its BatchNorm statistics.
    With ``profile.optim.ema_decay`` > 0 the weights are averaged (:class:`WeightAverage`); validation,
    ``best.pt`` and the returned network use the average. ``validate_at_start`` also validates the
    starting weights (a model that did not start at random), so selection can keep them. ``lr``: the
    stage's peak learning rate (None: ``profile.optim.lr``).
    """
    model = training_module(model, ctx.device)
    net = wrap_module(model, ctx.device)  # DistributedDataParallel in a distributed job
    params = [p for p in model.parameters() if p.requires_grad]
    optim = profile.optim
    average = WeightAverage(model, optim.ema_decay) if optim.ema_decay > 0 else None
    kept = average.model if average is not None else model
    weights = labelled.area_weights()
    opt, sched = make_optimizer(params, optim, lr=lr, total=steps)
    loss_fn = WeightedSegLoss()
    aug = augment_config(profile.augment)
    encoder = model.get_submodule("encoder")
    masks = labelled.labelled_masks()

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
        encoder.train(step >= frozen_warmup)
        idx = draw_tiles(weights, optim.batch_size, ctx.generator)
        x, (y,) = make_batch([labelled.images[i] for i in idx], [[masks[i]] for i in idx], [IGNORE],
                             aug, ctx.generator)
        x = training_input(normalise(ctx.local_rows(x), config.mean, config.std), ctx.device)
        with autocast(ctx.device):
            logits = net(x)
        loss = loss_fn(logits, ctx.local_rows(y).to(ctx.device))
        return loss, {"seg": float(loss.detach())}

    def freeze_encoder(step: int) -> None:
        if step < frozen_warmup:
            for p in encoder.parameters():
                p.grad = None

    def after_step(step: int) -> None:
        if average is not None:
            average.update(model, step)

    modules = {"model": model} if average is None else {"model": model, "ema": average.model}
    stage = Stage(name=name, round=rnd, total=steps, batch_size=optim.batch_size, modules=modules,
                  optimizer=opt, scheduler=sched, step_fn=step_fn, params=params, after_backward=freeze_encoder,
                  after_step=after_step, validate=validator(ctx, kept, config, val),
                  eval_every=profile.evaluation.eval_every,
                  best=(kept, config), validate_at_start=validate_at_start)
    run_stage(ctx, stage)
    if average is not None:
        model.load_state_dict(average.model.state_dict())  # the stage's result is the averaged network
    return model.eval()


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


def transfer(pmodel: PretrainModel, config: ModelConfig, decoder: bool = False) -> nn.Module:
    """A fresh U-Net (``create_model``) whose encoder is the pretrained online encoder; with ``decoder``
    its decoder and head are those of the pseudo-label segmentation task as well."""
    model = create_model(config)
    parts = [(model.get_submodule("encoder"), pmodel.encoder)]
    if decoder:
        seg = pmodel.heads["seg"]
        parts += [(model.get_submodule("decoder"), seg.get_submodule("decoder")),
                  (model.get_submodule("segmentation_head"), seg.get_submodule("head"))]
    for dst, src in parts:
        dst.load_state_dict({k: v.detach().cpu() for k, v in src.state_dict().items()})
    return model


def finetune(run: Run, rnd: int, steps: int) -> None:
    """Stage ``finetune``: transfer ``run.pmodel`` into a U-Net and train it on the labelled tiles (the
    encoder frozen for the profile's first steps); leaves it in ``run.model``.

    After the stage, ``stages/r<round>-best.pt`` is a copy of ``best.pt`` as it stood then (the best on
    val up to this round, for the rounds ablation).
    """
    if run.pmodel is None:
        raise RuntimeError("finetune needs a pretrained network: the plan runs pretraining first")
    stages = run.profile.stages
    model = transfer(run.pmodel, run.model_config, decoder=stages.transfer_decoder)
    if not run.finished(rnd, StageKind.FINETUNE, model, steps):
        model = train_segmenter(run.ctx, StageKind.FINETUNE.value, rnd, model, run.model_config, run.labelled,
                                run.val, run.profile, steps, frozen_warmup=stages.frozen_warmup_steps,
                                validate_at_start=True, lr=stages.finetune_lr)
        best = run.ctx.out_dir / "best.pt"
        if run.ctx.dist.is_main and best.is_file():
            # Written before the stage file so that a finished stage always has it.
            atomic_write_bytes(run.stage_file(rnd, "best"), best.read_bytes())
        run.save_stage(rnd, StageKind.FINETUNE, model)
    run.model = model.to(run.ctx.device).eval()
