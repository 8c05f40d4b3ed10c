"""Visible activity and an honest ETA (issue 16, item 6): pseudo-labelling reports progress, the remaining
time is a range from the run's own step times, and a busy machine is named."""

from __future__ import annotations

import torch

from app import training
from pgssl_core.models import ModelConfig, create_model
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
    eta = training.eta_range(PLAN, events, events[-1], batch_size=4)
    assert eta is not None and eta.low_s < eta.high_s
    assert eta.low_s == 160 + 50 * 2.0  # seg steps at 1 s, pretraining at the measured 2x
    assert eta.high_s == 160 + 50 * training.PRETRAIN_COST
    assert "–" in eta.text()
    # pseudo-labelling counts as the start of the pretraining stage, not as "no progress"
    labelling = {"kind": "stage", "stage": "pseudo_labels", "round": 1, "step": 3, "total": 10, "time": 1050.0}
    assert training.overall_fraction(PLAN, labelling) == 100 / 250
    assert training.eta_range(PLAN, events, labelling, batch_size=4).low_s == 100 + 50 * 2.0
    assert "pseudo-labelling" in training.activity_line(labelling, now=1051.0)


def test_eta_scales_with_the_runs_measured_overhead() -> None:
    events = _steps("teacher", 40, 1.0, start=1000.0)
    slow = [dict(e, time=1000.0 + 2 * (e["time"] - 1000.0)) for e in events]  # wall time twice the step time
    fast, halted = training.eta_range(PLAN, events, events[-1], 4), training.eta_range(PLAN, slow, slow[-1], 4)
    assert halted.low_s > fast.low_s * 1.8


def test_activity_line_says_how_long_ago_the_run_reported() -> None:
    progress = {"kind": "step", "stage": "teacher", "round": 1, "step": 5, "total": 100, "time": 100.0}
    assert "last report" not in training.activity_line(progress, now=101.0)
    assert "last report 2 min 00 s ago" in training.activity_line(progress, now=220.0)
    assert training.activity_line({}).startswith("preparing")


def test_busy_machine_is_named() -> None:
    assert training.machine_busy_note(run_live=False, load_1min=0.3, cores=2) is None
    assert "busy" in training.machine_busy_note(run_live=False, load_1min=1.5, cores=2)
    assert training.machine_busy_note(run_live=True, load_1min=2.4, cores=2) is None  # the run itself
    assert "besides this run" in training.machine_busy_note(run_live=True, load_1min=3.6, cores=2)
