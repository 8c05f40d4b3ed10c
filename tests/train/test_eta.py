"""Visible activity and an honest ETA (issue 16, item 6): pseudo-labelling reports progress and the remaining
time is a range from the run's own step times (the Train page's lines: tests/app/train/test_progress_line.py)."""

from __future__ import annotations

import pytest
import torch

from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train import eta
from pgssl_core.train.pseudo_labelling import PseudoLabelConfig, make_pseudo_labels

PLAN = [(1, "teacher", 100), (1, "pretrain", 50), (1, "finetune", 100)]


def _steps(stage: str, count: int, seconds: float, start: float, batch: int = 4) -> list[dict]:
    return [{"kind": "step", "stage": stage, "round": 1, "step": i + 1, "total": 100,
             "images_per_s": batch / seconds, "time": start + (i + 1) * seconds} for i in range(count)]


def test_pseudo_labelling_reports_progress_per_chunk() -> None:
    torch.manual_seed(0)
    model = create_model(ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4)))
    images = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8) for _ in range(5)]
    calls: list[tuple[int, int]] = []
    labels, _weights, _summary = make_pseudo_labels(model, images, (0.5,) * 3, (0.25,) * 3, PseudoLabelConfig(),
                                                    torch.device("cpu"), 8, batch_size=2,
                                                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)] and len(labels) == 5


def test_eta_is_a_range_from_measured_steps() -> None:
    # 40 teacher steps at 1 s: left are 60 teacher steps, 50 pretraining (not timed: 2-3 s), 100 fine-tuning
    events = _steps("teacher", 40, 1.0, start=1000.0)
    left = eta.eta_range(PLAN, events, events[-1], batch_size=4)
    assert left is not None and left.low_s < left.high_s
    assert left.low_s == 160 + 50 * 2.0  # seg steps at 1 s, pretraining at the measured 2x
    assert left.high_s == 160 + 50 * eta.PRETRAIN_COST
    assert "–" in left.text()
    # pseudo-labelling counts as the start of the pretraining stage, not as "no progress"
    labelling = {"kind": "stage", "stage": "pseudo_labels", "round": 1, "step": 3, "total": 10, "time": 1050.0}
    assert eta.overall_fraction(PLAN, labelling) == 100 / 250
    assert eta.eta_range(PLAN, events, labelling, batch_size=4).low_s == 100 + 50 * 2.0


def test_eta_scales_with_the_runs_measured_overhead() -> None:
    events = _steps("teacher", 40, 1.0, start=1000.0)
    slow = [dict(e, time=1000.0 + 2 * (e["time"] - 1000.0)) for e in events]  # wall time twice the step time
    fast, halted = eta.eta_range(PLAN, events, events[-1], 4), eta.eta_range(PLAN, slow, slow[-1], 4)
    assert halted.low_s > fast.low_s * 1.8


def test_estimate_and_formatting() -> None:
    est = eta.estimate_run("pgssl", "test", {"seg": 1.0})
    # test profile: teacher 4 + 2 rounds x (pretrain 4 at 3x + finetune 4)
    assert est.steps == 20 and est.seconds == pytest.approx(4 + 2 * (4 * eta.PRETRAIN_COST + 4))
    assert not est.overhead_known
    assert eta.estimate_run("pgssl", "test", {"seg": 1.0, "pretrain": 2.0, "overhead": 2.0}).seconds == \
        pytest.approx(2 * (4 + 2 * (4 * 2.0 + 4)))
    # supervised gets the labelled steps of a pgssl run: teacher 4 + 2 rounds x fine-tune 4 = 12 steps
    assert eta.estimate_run("supervised", "test", {"seg": 0.5}).seconds == pytest.approx(6.0)
    assert eta.format_duration(42.4) == "42 s"
    assert eta.format_duration(200) == "3 min 20 s"
    assert eta.format_duration(3900) == "1 h 05 min"
    assert eta.format_duration(None) == "—"
