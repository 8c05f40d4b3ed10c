"""Supervised training of a U-Net on labelled pixels: the step loop of the teacher, the ``supervised``
baseline and the fine-tune after transfer, and the weight average that selection validates."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from pgssl_core.distributed import wrap_module
from pgssl_core.models import ModelConfig
from pgssl_core.models.device import ModuleT, autocast, prepare_input, prepare_module
from pgssl_core.models.preprocess import normalise
from pgssl_core.train.augment import AugmentConfig, make_batch
from pgssl_core.train.data import IGNORE, TensorSet
from pgssl_core.train.loop import RunContext, Stage, run_stage
from pgssl_core.train.losses import WeightedSegLoss
from pgssl_core.train.metrics import evaluate_sharded
from pgssl_core.train.optim import make_optimizer
from pgssl_core.train.profiles import AugmentSettings, Profile

#: Training runs its convolutions in channels-last memory format on every device (``prepare_module`` does it
#: on CUDA only, for inference): oneDNN's CPU convolutions are faster in it. Measured on the shared 2-core CPU,
#: one thread, the ``quick`` U-Net's forward and backward pass on 8 tiles of 128 px: 0.86 s contiguous, 0.56 s
#: channels-last (medians of 5); ``benchmarks/pgssl_step.py`` compares both. The results differ from the
#: contiguous format's by float rounding only (another summation order in the kernels).
CHANNELS_LAST = False


def training_module(module: ModuleT, device: torch.device) -> ModuleT:
    """``module`` on ``device`` for training (in place; the same object is returned), channels-last when
    :data:`CHANNELS_LAST`."""
    module = prepare_module(module, device)
    return module.to(memory_format=torch.channels_last) if CHANNELS_LAST else module


def training_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A (N, C, H, W) batch on ``device`` in the training memory format (see :data:`CHANNELS_LAST`)."""
    x = prepare_input(x, device)
    return x.contiguous(memory_format=torch.channels_last) if CHANNELS_LAST else x


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
