"""Losses, pseudo-labels and the EMA target, each on its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pgssl_core.errors import PgsslError
from pgssl_core.models import ModelConfig
from pgssl_core.train.data import TensorSet, make_sample
from pgssl_core.train.losses import WeightedSegLoss
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.pretraining_tasks import (
    ByolHead,
    MaskedReconstructionLoss,
    TaskSettings,
    byol_momentum,
    random_block_mask,
)
from pgssl_core.train.pseudo_labelling import PseudoLabelConfig, confidence_weights, make_pseudo_labels

TINY = ModelConfig(encoder="tu-resnet10t", encoder_depth=3, decoder_channels=(16, 8, 8))


def test_inpainting_loss_ignores_unmasked_pixels():
    torch.manual_seed(0)
    original = torch.randn(2, 3, 16, 16)
    holes = torch.zeros(2, 1, 16, 16, dtype=torch.bool)
    holes[:, :, 4:8, 4:8] = True
    rec = original.clone()
    rec[~holes.expand_as(rec)] += 100.0  # huge error outside the holes only
    loss = MaskedReconstructionLoss()
    assert float(loss(rec, original, holes)) == 0.0
    rec2 = original.clone()
    rec2[holes.expand_as(rec2)] += 2.0
    assert abs(float(loss(rec2, original, holes)) - 4.0) < 1e-5


def test_block_mask_has_blocks_and_ratio():
    m = random_block_mask(4, 64, 64, 4, 0.05, torch.Generator().manual_seed(0))
    assert m.shape == (4, 1, 64, 64) and m.dtype == torch.bool
    assert all(m[i].any() for i in range(4))
    assert 0.0 < float(m.float().mean()) < 0.2


def test_seg_loss_ignores_255_and_zero_weight():
    logits = torch.randn(1, 2, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), 255, dtype=torch.long)
    target[0, 0, 0] = 1
    loss_fn = WeightedSegLoss()
    base = loss_fn(logits, target)
    changed = logits.detach().clone()
    changed[0, :, 1:, :] = torch.randn(2, 3, 4) * 10  # only ignored pixels change
    assert torch.allclose(base, loss_fn(changed, target))
    w = torch.zeros(1, 4, 4)
    assert float(loss_fn(logits, target, w)) == 0.0
    base.backward()
    assert logits.grad[0, :, 1:].abs().sum() == 0


class _FixedLogits(nn.Module):
    """A 'teacher' whose building probability rises from left to right (plus a BN layer that would
    drift if the teacher were run in train mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.bn(x)
        n, _, h, w = x.shape
        ramp = torch.linspace(-4, 4, w).view(1, 1, w).expand(n, h, w)
        return torch.stack([torch.zeros_like(ramp), ramp], dim=1)


def test_pseudo_label_weights_follow_confidence_and_teacher_stays_untouched():
    teacher = _FixedLogits().train()
    img = torch.randint(0, 255, (3, 8, 32), dtype=torch.uint8)
    before = teacher.bn.running_mean.clone()
    cfg = PseudoLabelConfig(threshold=0.7, class_balance=False)
    labels, weights, summary = make_pseudo_labels(teacher, [img], (0.5,) * 3, (0.25,) * 3, cfg,
                                                  torch.device("cpu"), multiple=8)
    assert teacher.training and torch.equal(teacher.bn.running_mean, before)  # eval mode, restored after
    lab, w = labels[0][0], weights[0][0]
    conf = torch.sigmoid(torch.linspace(-4, 4, 32).abs())
    assert torch.equal(lab == 255, conf < 0.7)  # uncertain middle ignored
    assert (w[lab == 255] == 0).all()
    kept = lab != 255
    order = conf[kept].argsort()
    assert (w[kept][order].diff() >= -1e-6).all()  # more confident -> no smaller weight
    assert float(w[kept].max()) > float(w[kept].min())
    assert 0 < summary["ignored_share"] < 1
    # without confidence weighting: plain argmax, weight 1, nothing ignored (the source's behaviour)
    labels2, weights2, _ = make_pseudo_labels(teacher, [img], (0.5,) * 3, (0.25,) * 3,
                                              PseudoLabelConfig(confidence_weighting=False, class_balance=False),
                                              torch.device("cpu"), multiple=8)
    assert (labels2[0] != 255).all() and (weights2[0] == 1).all()


def test_class_balance_lifts_rare_class():
    w = confidence_weights(torch.tensor([0.95, 0.99]), 0.7)
    assert w[1] > w[0]
    teacher = _FixedLogits()
    img = torch.zeros(3, 8, 32, dtype=torch.uint8)
    labels, weights, s = make_pseudo_labels(teacher, [img], (0.5,) * 3, (0.25,) * 3,
                                            PseudoLabelConfig(threshold=0.5, confidence_weighting=False,
                                                              class_balance=True), torch.device("cpu"), 8)
    assert abs(s["factor_background"] - s["factor_building"]) < 1e-6  # balanced ramp: equal factors


def test_ema_target_moves_gets_no_gradients_and_averages_bn_buffers():
    torch.manual_seed(0)
    model = PretrainModel(TINY, TaskSettings(proj_dim=8, proj_hidden=16))
    byol = model.heads["byol"]
    assert isinstance(byol, ByolHead)
    target_params = list(byol.target_parameters())
    assert all(not p.requires_grad for p in target_params)
    assert all(id(p) not in {id(t) for t in target_params} for p in model.online_parameters())
    x = torch.randn(4, 3, 32, 32)
    model.train()
    feats = model.features(x)
    loss = (byol.predict(feats) - byol.target_projection(x)).pow(2).mean()
    loss.backward()
    assert all(p.grad is None for p in target_params)
    assert not byol.target_encoder.training
    before = [p.clone() for p in target_params]
    bn_before = [b.clone() for b in byol.target_encoder.buffers() if b.dtype.is_floating_point]
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    byol.update_target(model.encoder, 0.9)
    moved = [not torch.equal(b, a) for b, a in zip(before, target_params)]
    assert any(moved)
    bn_after = [b for b in byol.target_encoder.buffers() if b.dtype.is_floating_point]
    assert any(not torch.equal(b, a) for b, a in zip(bn_before, bn_after))  # online BN stats flowed in
    assert byol_momentum(0, 100) == 0.996 and byol_momentum(100, 100) == 1.0
    assert byol_momentum(0, 100) < byol_momentum(50, 100) < 1.0


def test_labelled_masks_refuses_a_set_with_unlabelled_tiles():
    image = np.zeros((8, 8, 3), np.uint8)
    mask = np.ones((8, 8), np.uint8)
    labelled = TensorSet.from_samples([make_sample(image, mask), make_sample(image, mask)])
    assert [m.shape for m in labelled.labelled_masks()] == [(8, 8), (8, 8)]
    mixed = TensorSet.from_samples([make_sample(image, mask), make_sample(image)])
    with pytest.raises(PgsslError, match="1 of 2 tiles have no mask"):
        mixed.labelled_masks()
