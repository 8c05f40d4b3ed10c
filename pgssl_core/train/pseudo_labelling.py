"""Pseudo-labelling: the teacher labels the pool (argmax label, confidence weight, threshold, class
balance); at the start of each pretraining stage of pgssl (see :func:`label_pool`).

The teacher runs in eval mode under ``torch.no_grad`` (the source ran it in train mode, so its
BatchNorm statistics drifted with every pseudo-labelled batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from pgssl_core.distributed import DistInfo, all_gather_objects, gather_shards
from pgssl_core.models import ModelConfig
from pgssl_core.models.device import autocast, prepare_input
from pgssl_core.models.logits import predict_logits
from pgssl_core.models.preprocess import uint8_batch_to_input
from pgssl_core.train.data import IGNORE, TensorSet
from pgssl_core.train.metrics import Confusion
from pgssl_core.train.run import Run


@dataclass(frozen=True)
class PseudoLabelConfig:
    """``threshold``: pixels whose max class probability is below it are ignored (255);
    ``confidence_weighting``: weight = rescaled confidence, else 1 (and no threshold, as in the source);
    ``class_balance``: scale weights so both classes carry comparable total weight (factor capped at
    ``max_class_factor``), so a tile set with 5% roofs does not teach "everything is background"."""

    threshold: float = 0.7
    confidence_weighting: bool = True
    class_balance: bool = True
    max_class_factor: float = 5.0


def confidence_weights(confidence: torch.Tensor, threshold: float) -> torch.Tensor:
    """Map confidence in [0.5, 1] (two classes) to a weight in (0, 1]: linear from ``threshold``
    (weight ~0) to 1.0 (weight 1), with a small floor so a just-confident pixel still counts.
    Monotone non-decreasing in confidence. Shapes preserved."""
    lo = min(threshold, 0.999)
    return ((confidence - lo) / (1 - lo)).clamp(0.0, 1.0) * 0.9 + 0.1


def balance_factors(labels: torch.Tensor, weights: torch.Tensor, max_factor: float) -> torch.Tensor:
    """Per-class multipliers (2,) that equalise the total weight of class 0 and class 1 among
    labelled pixels, capped at ``max_factor`` and normalised so the mean pixel weight is unchanged."""
    valid = labels != IGNORE
    totals = torch.stack([(weights * (valid & (labels == k))).sum() for k in (0, 1)]).double()
    if (totals <= 0).any():
        return torch.ones(2)
    factors = (totals.sum() / (2 * totals)).clamp(1 / max_factor, max_factor)
    new_total = (factors * totals).sum()
    return (factors * totals.sum() / new_total).float()


@torch.no_grad()
def teacher_predictions(teacher: nn.Module, images: Sequence[torch.Tensor], mean: Sequence[float],
                        std: Sequence[float], device: torch.device, multiple: int, batch_size: int = 8,
                        progress: Callable[[int, int], None] | None = None,
                        ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The teacher's argmax label uint8 (H, W) and its confidence float32 (H, W) for every tile.

    ``images``: uint8 (C, H, W) tensors, sizes may differ. Each chunk of ``batch_size`` tiles goes
    through the network in one forward pass per tile size (tiles of one size are stacked; in eval mode a
    tile's output does not depend on the others in its batch). ``progress(done, total)`` is called after
    each chunk, so a caller can show that pseudo-labelling moves.
    """
    was_training = teacher.training
    teacher.eval()
    labels: list[torch.Tensor] = []
    confs: list[torch.Tensor] = []
    try:
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            out: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(chunk)
            by_size: dict[tuple[int, ...], list[int]] = {}
            for i, img in enumerate(chunk):
                by_size.setdefault(tuple(img.shape), []).append(i)
            for members in by_size.values():
                x = prepare_input(uint8_batch_to_input(torch.stack([chunk[i] for i in members]), mean, std), device)
                with autocast(device):
                    logits = predict_logits(teacher, x, multiple)
                conf, lab = logits.float().softmax(dim=1).cpu().max(dim=1)
                for k, i in enumerate(members):
                    out[i] = (lab[k].to(torch.uint8), conf[k])
            for lab_conf in out:
                assert lab_conf is not None
                labels.append(lab_conf[0])
                confs.append(lab_conf[1])
            if progress is not None:
                progress(len(labels), len(images))
    finally:
        teacher.train(was_training)
    return labels, confs


def pseudo_labels_from_predictions(labels: list[torch.Tensor], confs: list[torch.Tensor], cfg: PseudoLabelConfig,
                                   ) -> tuple[list[torch.Tensor], list[torch.Tensor], dict[str, float]]:
    """Threshold, confidence weights and class balance over all tiles' teacher predictions.

    ``labels`` uint8 (H, W) and ``confs`` float32 (H, W) per tile (see :func:`teacher_predictions`;
    ``labels`` is changed in place). Returns per tile a label map uint8 (H, W) in {0, 1, 255} and a
    weight map float32 (H, W) >= 0 (0 where ignored), plus summary figures (share ignored, share
    building, mean weight, class factors).
    """
    weights = []
    for i, (lab, conf) in enumerate(zip(labels, confs, strict=True)):
        if cfg.confidence_weighting:
            lab[conf < cfg.threshold] = IGNORE
            w = confidence_weights(conf, cfg.threshold)
        else:
            w = torch.ones_like(conf)
        weights.append(torch.where(lab == IGNORE, torch.zeros_like(w), w))
        labels[i] = lab
    factors = torch.ones(2)
    if cfg.class_balance and labels:
        all_l = torch.cat([lab.flatten() for lab in labels])
        all_w = torch.cat([w.flatten() for w in weights])
        factors = balance_factors(all_l, all_w, cfg.max_class_factor)
        for i, lab in enumerate(labels):
            f = factors[torch.where(lab == IGNORE, torch.zeros_like(lab), lab).long()]
            weights[i] = weights[i] * f
    total = sum(lab.numel() for lab in labels) or 1
    ignored = sum(int((lab == IGNORE).sum()) for lab in labels)
    building = sum(int((lab == 1).sum()) for lab in labels)
    summary = {"ignored_share": ignored / total, "building_share": building / max(total - ignored, 1),
               "mean_weight": float(sum(float(w.sum()) for w in weights) / total),
               "factor_background": float(factors[0]), "factor_building": float(factors[1])}
    return labels, weights, summary


def make_pseudo_labels(teacher: nn.Module, images: Sequence[torch.Tensor], mean: Sequence[float],
                       std: Sequence[float], cfg: PseudoLabelConfig, device: torch.device, multiple: int,
                       batch_size: int = 8, progress: Callable[[int, int], None] | None = None,
                       ) -> tuple[list[torch.Tensor], list[torch.Tensor], dict[str, float]]:
    """Label every tile with the teacher: :func:`teacher_predictions`, then
    :func:`pseudo_labels_from_predictions` (label maps, weight maps, summary)."""
    labels, confs = teacher_predictions(teacher, images, mean, std, device, multiple, batch_size, progress)
    return pseudo_labels_from_predictions(labels, confs, cfg)


def label_pool(teacher: nn.Module, pool: TensorSet, config: ModelConfig, cfg: PseudoLabelConfig,
               device: torch.device, dist: DistInfo, progress: Callable[[int, int], None] | None = None,
               ) -> tuple[list[torch.Tensor], list[torch.Tensor], dict[str, float]]:
    """Pseudo-labels of the whole pool, as :func:`make_pseudo_labels`, the teacher's work sharded.

    In a distributed job each rank runs the teacher on its share of the tiles (``pool.shard``); the
    predictions are gathered to every rank, which then thresholds and class-balances all of them, so
    every rank holds the same pseudo-labels as one process would. ``progress`` counts this rank's tiles.
    """
    mine = pool.shard(dist.rank, dist.world_size) if dist.distributed else pool
    labels, confs = teacher_predictions(teacher, mine.images, config.mean, config.std, device,
                                        config.output_stride, progress=progress)
    if dist.distributed:
        shards = all_gather_objects(list(zip(labels, confs, strict=True)))
        labels, confs = (list(t) for t in zip(*gather_shards(shards), strict=True))
    labels, weights, summary = pseudo_labels_from_predictions(labels, confs, cfg)
    summary.update(pseudo_label_quality(labels, pool.masks))
    return labels, weights, summary


def pseudo_label_round(run: Run, rnd: int, teacher: nn.Module,
                       ) -> tuple[list[torch.Tensor], list[torch.Tensor]] | None:
    """The pseudo-labels of round ``rnd``: ``teacher`` labels ``run.pool`` (:func:`label_pool`); progress
    is reported as an "activity" (work between stages) and the result as one line.

    The gate (:func:`pseudo_label_gate`, the profile's ``pseudo_min_recall`` and ``pseudo_min_precision``)
    judges them on the labelled tiles; a refusal is reported as an ``info`` event of its own (with
    ``refused``: True and the figures) and recorded in ``run.ctx.state.pseudo_labels``, as every decision is.

    Returns per pool tile the label map uint8 (H, W) in {0, 1, 255} and the weight map float32 (H, W), or
    None when the gate refused them.
    """
    ctx = run.ctx

    def progress(done: int, total: int) -> None:
        ctx.reporter.emit({"kind": "activity", "stage": "pseudo_labels", "round": rnd, "step": done,
                           "total": total}, log=False)

    settings = run.profile.pseudo
    cfg = PseudoLabelConfig(threshold=settings.threshold, confidence_weighting=run.confidence_weighting,
                            class_balance=settings.class_balance)
    labels, weights, summary = label_pool(teacher, run.pool, run.model_config, cfg, ctx.device, ctx.dist, progress)
    ctx.reporter.emit({"kind": "info", "stage": "pseudo_labels", "round": rnd, "pseudo_labels": summary,
                       "message": pseudo_label_line(rnd, summary)})
    reason = pseudo_label_gate(summary, settings.min_recall, settings.min_precision)
    record = {"round": rnd, "refused": reason is not None, "reason": reason,
              **{k: summary.get(k) for k in ("pl_precision", "pl_recall", "pl_tiles", "building_share")}}
    # Replace a decision of this round taken before an interruption (resume labels the pool again).
    ctx.state.pseudo_labels = [r for r in ctx.state.pseudo_labels if r.get("round") != rnd] + [record]
    if reason is None:
        return labels, weights
    ctx.reporter.emit({"kind": "info", "stage": "pseudo_labels", "round": rnd, "refused": True,
                       "gate": record, "message": f"round {rnd} pseudo-labels refused: {reason}; {REFUSED_PLAN}"})
    return None


#: What a run does with a round whose pseudo-labels were refused (see ``pretraining.pretraining_stage``).
REFUSED_PLAN = ("this round pretrains on the pool without them (BYOL and inpainting only), and its fine-tune "
                "replaces the teacher only if it does better on the validation tiles")


def pseudo_label_gate(summary: dict[str, float], min_recall: float, min_precision: float) -> str | None:
    """Why a round's pseudo-labels must not train the segmentation task, or None when they may.

    ``summary``: :func:`label_pool`'s figures (``building_share`` of the pool's confident pixels;
    ``pl_recall``, ``pl_precision`` of the confident building claims on the labelled tiles, NaN when not
    measurable). Refused: recall below ``min_recall`` (a pool without any confident building pixel counts
    as recall 0), or precision below ``min_precision``. Thresholds of 0 switch that side off (the profile's
    ``pseudo_min_recall`` / ``pseudo_min_precision``; the reasons for their defaults are there).

    Figures that cannot be measured (no labelled tile in the pool, or neither labelled nor claimed roofs
    on them) do not refuse: there is nothing to judge the teacher against.
    """
    r, p = summary.get("pl_recall", math.nan), summary.get("pl_precision", math.nan)
    if not math.isnan(r) and r < min_recall:
        return f"recall {r:.2f} on the labelled tiles is below {min_recall:.2f} (they miss most buildings)"
    if min_recall > 0 and summary.get("building_share", 1.0) == 0:  # and no roof on the labelled tiles either
        return "the teacher marked no pixel of the pool as building with confidence"
    if not math.isnan(p) and p < min_precision:
        return (f"precision {p:.2f} on the labelled tiles is below {min_precision:.2f} (most of what they call "
                "building is not)")
    return None


def pseudo_label_line(rnd: int, summary: dict[str, float]) -> str:
    """One line on a round's pseudo-labels, with a warning when they under-call buildings (recall far
    below precision on the labelled tiles), which would teach the encoder that roofs are background."""
    p, r = summary.get("pl_precision", float("nan")), summary.get("pl_recall", float("nan"))
    line = (f"round {rnd} pseudo-labels: {summary['building_share']:.1%} building, {summary['ignored_share']:.1%} "
            f"left out as unsure; on the labelled tiles precision {p:.2f}, recall {r:.2f}")
    if not (math.isnan(r) or math.isnan(p)) and r < 0.5 * p:  # only with figures
        line += " (warning: they miss many buildings; the teacher under-calls roofs)"
    return line


def pseudo_label_quality(labels: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]) -> dict[str, float]:
    """Precision and recall of the building class of confident pseudo-labels against the tiles' own
    labels, where a tile has them (the labelled tiles are part of the pool).

    ``labels``: uint8 (H, W) in {0, 1, 255}; ``masks``: the same tiles' masks (0/1/255) or None.
    Returns ``{"pl_precision", "pl_recall", "pl_tiles"}``; NaN figures when no labelled pixel is confident.
    A recall far below the precision means the pseudo-labels collapse towards background.
    """
    conf = Confusion()
    tiles = 0
    for lab, mask in zip(labels, masks, strict=True):
        if mask is None:
            continue
        tiles += 1
        # Unconfident pixels count as background claims: recall then measures how much of the true roof
        # area the pseudo-labels actually teach.
        pred = torch.where(lab == 1, 1, 0)
        conf.add(pred, mask)
    if tiles == 0 or conf.tp + conf.fn + conf.fp == 0:
        return {"pl_precision": float("nan"), "pl_recall": float("nan"), "pl_tiles": tiles}
    figures = conf.figures()
    return {"pl_precision": figures["precision"], "pl_recall": figures["recall"], "pl_tiles": tiles}
