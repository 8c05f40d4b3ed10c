"""The stages of the method as functions: supervised segmentation (teacher / baseline / fine-tune),
three-task pretraining, and the transfer of a pretrained encoder into a fresh U-Net."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train.augment import AugmentConfig, make_batch, normalise
from pgssl_core.train.data import IGNORE, Sample
from pgssl_core.train.device import autocast, prepare_input, prepare_module
from pgssl_core.train.loop import RunContext, Stage, run_stage
from pgssl_core.train.losses import ByolLoss, MaskedReconstructionLoss, WeightedSegLoss
from pgssl_core.train.metrics import evaluate_tensors
from pgssl_core.train.optim import make_optimizer
from pgssl_core.train.pretrain_model import PretrainModel, byol_momentum, random_block_mask
from pgssl_core.train.profiles import Profile

TASKS = ("seg", "byol", "inpaint")


@dataclass
class TensorSet:
    """Samples as tensors: images uint8 (C, H, W), masks uint8 (H, W) or None (sizes may differ)."""

    images: list[torch.Tensor]
    masks: list[torch.Tensor | None]

    @classmethod
    def from_samples(cls, samples: Sequence[Sample]) -> TensorSet:
        images = [torch.from_numpy(s["image"]).permute(2, 0, 1).contiguous() for s in samples]
        masks = [None if s.get("mask") is None else torch.from_numpy(s["mask"]) for s in samples]
        return cls(images, masks)

    def __len__(self) -> int:
        return len(self.images)

    def area_weights(self) -> torch.Tensor:
        """Pixel count of each tile (float (N,)): tiles are drawn in proportion to the ground they cover,
        so a 64 px tile (a zoom-21 tile at a 0.3 m working GSD) is not drawn as often as a 256 px one."""
        return torch.tensor([float(img.shape[-2] * img.shape[-1]) for img in self.images])


def augment_config(profile: Profile) -> AugmentConfig:
    return AugmentConfig(crop=profile.crop, scale=profile.scale, degrade=profile.degrade,
                         degrade_p=profile.degrade_p, grey_p=profile.grey_p)


def _draw(weights: torch.Tensor, batch: int, gen: torch.Generator) -> list[int]:
    """``batch`` tile indices drawn with replacement in proportion to ``weights`` (N,)."""
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
        d = min(self.decay, (1 + step) / (10 + step))
        live = model.state_dict()
        for name, avg in self.model.state_dict().items():
            src = live[name].detach()
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(src.to(avg.dtype), alpha=1 - d)
            else:
                avg.copy_(src)


def _validator(ctx: RunContext, model: nn.Module, config: ModelConfig, val: TensorSet | None):
    if val is None or len(val) == 0:
        return None
    return lambda: evaluate_tensors(model, config, val, ctx.device)


def train_segmenter(ctx: RunContext, name: str, rnd: int, model: nn.Module, config: ModelConfig,
                    labelled: TensorSet, val: TensorSet | None, profile: Profile, steps: int,
                    frozen_warmup: int = 0, validate_at_start: bool = False) -> nn.Module:
    """Supervised training of a U-Net on labelled pixels (255 ignored) with CE + Dice.

    Used for the teacher, the ``supervised`` baseline and the fine-tune after transfer. During the
    first ``frozen_warmup`` steps the encoder gets no updates and keeps its BatchNorm statistics.
    With ``profile.ema_decay`` > 0 the weights are averaged (:class:`WeightAverage`); validation,
    ``best.pt`` and the returned network use the average. ``validate_at_start`` also validates the
    starting weights (a model that did not start at random), so selection can keep them.
    """
    model = prepare_module(model, ctx.device)
    params = [p for p in model.parameters() if p.requires_grad]
    average = WeightAverage(model, profile.ema_decay) if profile.ema_decay > 0 else None
    kept = average.model if average is not None else model
    weights = labelled.area_weights()
    lr = profile.finetune_lr if name == "finetune" else None
    opt, sched = make_optimizer(params, profile, lr=lr, total=steps)
    loss_fn = WeightedSegLoss()
    aug = augment_config(profile)

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
        model.encoder.train(step >= frozen_warmup)
        idx = _draw(weights, profile.batch_size, ctx.generator)
        x, (y,) = make_batch([labelled.images[i] for i in idx], [[labelled.masks[i]] for i in idx], [IGNORE],
                             aug, ctx.generator)
        x = prepare_input(normalise(x, config.mean, config.std), ctx.device)
        with autocast(ctx.device):
            logits = model(x)
        loss = loss_fn(logits, y.to(ctx.device))
        return loss, {"seg": float(loss.detach())}

    def freeze_encoder(step: int) -> None:
        if step < frozen_warmup:
            for p in model.encoder.parameters():
                p.grad = None

    def after_step(step: int) -> None:
        if average is not None:
            average.update(model, step)

    modules = {"model": model} if average is None else {"model": model, "ema": average.model}
    stage = Stage(name=name, round=rnd, total=steps, batch_size=profile.batch_size, modules=modules,
                  optimizer=opt, scheduler=sched, step_fn=step_fn, params=params, after_backward=freeze_encoder,
                  after_step=after_step, validate=_validator(ctx, kept, config, val), eval_every=profile.eval_every,
                  best=(kept, config), validate_at_start=validate_at_start)
    run_stage(ctx, stage)
    if average is not None:
        model.load_state_dict(average.model.state_dict())  # the stage's result is the averaged network
    return model.eval()


def active_tasks(weights: dict[str, float], schedule: str, step: int) -> list[str]:
    """Tasks with a positive weight; ``alternate`` picks one of them per step in turn."""
    tasks = [t for t in TASKS if weights.get(t, 0) > 0]
    if schedule == "alternate" and tasks:
        return [tasks[step % len(tasks)]]
    return tasks


def pretrain(ctx: RunContext, rnd: int, pmodel: PretrainModel, pool: TensorSet,
             pseudo: tuple[list[torch.Tensor], list[torch.Tensor]] | None, profile: Profile,
             task_weights: dict[str, float], steps: int) -> PretrainModel:
    """Three-task pretraining on the pool (see :mod:`pgssl_core.train.pretrain_model`).

    Each step draws two augmented views of the same tiles (pseudo-labels and weights follow the
    geometry). Online pass: [view 1 with holes, view 2] through the shared encoder; seg loss on both
    views' weighted pseudo-labels; BYOL symmetric loss against the target's projections of the clean
    views; inpainting loss on the holes of view 1 only. The target is EMA-updated after each step.
    """
    weights = dict(task_weights)
    if pseudo is None:
        weights["seg"] = 0.0
    if not any(v > 0 for v in weights.values()):
        raise ValueError("pretraining needs at least one task with a positive weight")
    pmodel = prepare_module(pmodel, ctx.device)
    params = pmodel.online_parameters()
    opt, sched = make_optimizer(params, profile, lr=profile.pretrain_lr, total=steps)
    seg_loss, byol_loss, rec_loss = WeightedSegLoss(), ByolLoss(), MaskedReconstructionLoss()
    aug = augment_config(profile)
    cfg = pmodel.config
    pool_weights = pool.area_weights()

    def views(idx: list[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        imgs = [pool.images[i] for i in idx]
        if pseudo is None:
            x, maps = make_batch(imgs, [[] for _ in idx], [], aug, ctx.generator)
        else:
            x, maps = make_batch(imgs, [[pseudo[0][i], pseudo[1][i]] for i in idx], [IGNORE, 0.0], aug,
                                 ctx.generator)
        return prepare_input(normalise(x, cfg.mean, cfg.std), ctx.device), [m.to(ctx.device) for m in maps]

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
        tasks = active_tasks(weights, profile.task_schedule, step)
        idx = _draw(pool_weights, profile.batch_size, ctx.generator)
        x1, m1 = views(idx)
        x2, m2 = views(idx)
        n = x1.shape[0]
        two_views = "seg" in tasks or "byol" in tasks
        inp1 = x1
        if "inpaint" in tasks:
            holes = random_block_mask(n, x1.shape[-2], x1.shape[-1], profile.inpaint_block, profile.inpaint_ratio,
                                      ctx.generator).to(ctx.device)
            inp1 = x1.masked_fill(holes, 0.0)  # 0 in normalised units = the mean colour
        online = torch.cat([inp1, x2]) if two_views else inp1
        parts: dict[str, float] = {}
        total = torch.zeros((), device=ctx.device)
        with autocast(ctx.device):
            feats = pmodel.features(online)
            if "seg" in tasks:
                logits = pmodel.segment(feats)
                loss = seg_loss(logits, torch.cat([m1[0], m2[0]]), torch.cat([m1[1], m2[1]]))
                parts["seg"] = float(loss.detach())
                total = total + weights["seg"] * loss
            if "byol" in tasks:
                pred = pmodel.predict(feats)
                target = pmodel.target_projection(torch.cat([x1, x2]))
                loss = (byol_loss(pred[:n], target[n:]) + byol_loss(pred[n:], target[:n])) / 2
                parts["byol"] = float(loss.detach())
                total = total + weights["byol"] * loss
            if "inpaint" in tasks:
                rec = pmodel.inpaint([f[:n] for f in feats])
                loss = rec_loss(rec, x1, holes)
                parts["inpaint"] = float(loss.detach())
                total = total + weights["inpaint"] * loss
        return total, parts

    def ema(step: int) -> None:
        if weights.get("byol", 0) > 0:
            pmodel.update_target(byol_momentum(step, steps, profile.byol_momentum))

    stage = Stage(name="pretrain", round=rnd, total=steps, batch_size=profile.batch_size,
                  modules={"pretrain": pmodel}, optimizer=opt, scheduler=sched, step_fn=step_fn, params=params,
                  after_step=ema)
    run_stage(ctx, stage)
    return pmodel


def transfer(pmodel: PretrainModel, config: ModelConfig, decoder: bool = False) -> nn.Module:
    """A fresh U-Net (``create_model``) whose encoder is the pretrained online encoder; with ``decoder``
    its decoder and head are those of the pseudo-label segmentation task as well."""
    model = create_model(config)
    parts = [(model.encoder, pmodel.encoder)]
    if decoder:
        parts += [(model.decoder, pmodel.seg_decoder), (model.segmentation_head, pmodel.seg_head)]
    for dst, src in parts:
        dst.load_state_dict({k: v.detach().cpu() for k, v in src.state_dict().items()})
    return model
