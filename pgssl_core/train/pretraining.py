"""Pretraining: the shared encoder learns from the whole pool with the tasks of
:mod:`pgssl_core.train.pretraining_tasks` (pseudo-label segmentation, BYOL, inpainting).

pgssl runs all three, jointly or in turn (``TaskSettings.schedule``); the ``byol`` and ``inpaint``
baselines run that single task. The pretraining network (:class:`PretrainModel`) carries over from one
round to the next.
"""

from __future__ import annotations

import torch

from pgssl_core.distributed import wrap_module
from pgssl_core.models.device import autocast
from pgssl_core.models.preprocess import normalise
from pgssl_core.train.augment import make_batch
from pgssl_core.train.data import IGNORE, TensorSet, training_input, training_module
from pgssl_core.train.loop import RunContext, Stage, run_stage
from pgssl_core.train.optim import make_optimizer
from pgssl_core.train.plan import StageKind
from pgssl_core.train.pretrain_model import OnlineHeads, PretrainModel
from pgssl_core.train.pretraining_tasks import PRETRAIN_TASKS, PretrainBatch, active_tasks
from pgssl_core.train.profiles import Profile
from pgssl_core.train.pseudo_labelling import pseudo_label_round
from pgssl_core.train.run import Run
from pgssl_core.train.segmenter import augment_config, draw_tiles


def method_task_weights(method: str, profile: Profile) -> dict[str, float]:
    """Weights of the pretraining tasks for ``method``: a single-task baseline runs its task alone."""
    if method in ("byol", "inpaint"):
        return {name: float(name == method) for name in PRETRAIN_TASKS}
    return dict(profile.tasks.weights)


def without_pseudo_label_tasks(weights: dict[str, float]) -> dict[str, float]:
    """``weights`` with the tasks that learn from pseudo-labels (``uses_pseudo_labels``) switched off."""
    return {name: 0.0 if w > 0 and PRETRAIN_TASKS[name].uses_pseudo_labels else w for name, w in weights.items()}


def pretrain(ctx: RunContext, rnd: int, pmodel: PretrainModel, pool: TensorSet,
             pseudo: tuple[list[torch.Tensor], list[torch.Tensor]] | None, profile: Profile,
             task_weights: dict[str, float], steps: int) -> PretrainModel:
    """Train ``pmodel`` on the pool for ``steps`` steps with the tasks of positive weight.

    Each step draws two augmented views of the same tiles (pseudo-labels and weights follow the
    geometry). Online pass: [view 1 with holes, view 2] through the shared encoder; seg loss on both
    views' weighted pseudo-labels; BYOL symmetric loss against the target's projections of the clean
    views; inpainting loss on the holes of view 1 only. The target is EMA-updated after each step.
    ``pseudo``: per pool tile the label map (H, W) uint8 and weight map (H, W) float, or None (no
    segmentation task).

    Raises:
        ValueError: no task has a positive weight.
    """
    weights = dict(task_weights)
    if pseudo is None:
        weights = without_pseudo_label_tasks(weights)
    if not any(v > 0 for v in weights.values()):
        raise ValueError("pretraining needs at least one task with a positive weight")
    enabled = [task for name, task in PRETRAIN_TASKS.items() if weights.get(name, 0) > 0]
    pmodel = training_module(pmodel, ctx.device)
    # Heads of switched-off tasks, or of the tasks resting in an alternating step, get no gradient.
    settings = profile.tasks
    some_heads_idle = len(enabled) < len(PRETRAIN_TASKS) or settings.schedule == "alternate"
    net = wrap_module(OnlineHeads(pmodel), ctx.device, find_unused_parameters=some_heads_idle)
    params = pmodel.online_parameters()
    opt, sched = make_optimizer(params, profile.optim, lr=profile.stages.pretrain_lr, total=steps)
    aug = augment_config(profile.augment)
    cfg = pmodel.config
    pool_weights = pool.area_weights()

    def views(idx: list[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        imgs = [pool.images[i] for i in idx]
        if pseudo is None:
            return make_batch(imgs, [[] for _ in idx], [], aug, ctx.generator)
        return make_batch(imgs, [[pseudo[0][i], pseudo[1][i]] for i in idx], [IGNORE, 0.0], aug, ctx.generator)

    def local(x: torch.Tensor) -> torch.Tensor:
        return ctx.local_rows(x).to(ctx.device)

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
        tasks = active_tasks(weights, settings.schedule, step)
        # The global batch and its random draws are made in the same order on every rank (one generator);
        # each rank then keeps its rows.
        idx = draw_tiles(pool_weights, profile.optim.batch_size, ctx.generator)
        x1, m1 = views(idx)
        x2, m2 = views(idx)
        drawn = {t.name: t.draw(x1.shape[0], x1.shape[-2], x1.shape[-1], settings, ctx.generator) for t in tasks}
        batch = PretrainBatch(x1=training_input(normalise(ctx.local_rows(x1), cfg.mean, cfg.std), ctx.device),
                              x2=training_input(normalise(ctx.local_rows(x2), cfg.mean, cfg.std), ctx.device),
                              maps1=[local(m) for m in m1], maps2=[local(m) for m in m2],
                              drawn={k: local(v) for k, v in drawn.items() if v is not None})
        inp1 = batch.x1
        for task in tasks:
            inp1 = task.corrupt(inp1, batch)
        online = torch.cat([inp1, batch.x2]) if any(t.uses_second_view for t in tasks) else inp1
        parts: dict[str, float] = {}
        total = torch.zeros((), device=ctx.device)
        with autocast(ctx.device):
            outputs = net(online, tasks, batch)
            for task in tasks:
                loss = task.loss(outputs[task.name], batch, pmodel.head(task.name))
                parts[task.name] = float(loss.detach())
                total = total + weights[task.name] * loss
        return total, parts

    def after_step(step: int) -> None:
        for task in enabled:
            task.after_step(pmodel.head(task.name), pmodel.encoder, step, steps, settings)

    stage = Stage(name=StageKind.PRETRAIN.value, round=rnd, total=steps, batch_size=profile.optim.batch_size,
                  modules={"pretrain": pmodel}, optimizer=opt, scheduler=sched, step_fn=step_fn, params=params,
                  after_step=after_step)
    run_stage(ctx, stage)
    return pmodel


def pretraining_stage(run: Run, rnd: int, steps: int) -> None:
    """Stage ``pretrain``: pseudo-labels of the pool by ``run.model`` (when the segmentation task is on),
    then :func:`pretrain`; the pretraining network starts from the run's starting model in round 1 and
    is left in ``run.pmodel``.

    When the pseudo-label gate refuses the round's pseudo-labels (:func:`pseudo_label_round` returns None),
    the round pretrains without the segmentation task. Why that and not skipping the round: BYOL and
    inpainting learn from the user's own tiles and cannot be misled by a teacher that does not know the
    place, which is exactly when adapting the encoder to the place matters most; the fine-tune after it is
    validated from its first step and replaces ``best.pt`` only by beating the teacher, so the teacher
    stays the run's model unless the student does better. With no other task of positive weight, the
    stage leaves the pretraining network as it was (its steps count as done).
    """
    if run.pmodel is None:
        run.pmodel = PretrainModel(run.model_config, run.profile.tasks)
        if run.init.model is not None:
            run.pmodel.start_from(run.init.model)
    if run.finished(rnd, StageKind.PRETRAIN, run.pmodel, steps):
        return
    pseudo = None
    weights = dict(run.task_weights)
    if weights != without_pseudo_label_tasks(weights):
        if run.model is None:
            raise RuntimeError("pseudo-labels need a teacher: the plan trains one first")
        pseudo = pseudo_label_round(run, rnd, run.model)
        if pseudo is None:
            weights = without_pseudo_label_tasks(weights)
    if any(v > 0 for v in weights.values()):
        run.pmodel = pretrain(run.ctx, rnd, run.pmodel, run.pool, pseudo, run.profile, weights, steps)
    else:
        run.ctx.reporter.done_before += steps
    run.save_stage(rnd, StageKind.PRETRAIN, run.pmodel)
