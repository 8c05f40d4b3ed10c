"""'Did pretraining help?': the baseline trains on the same tiles and steps; verdict words; rounds; budget."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from pgssl_core.assess.model_error import TileConfusion
from pgssl_core.errors import PgsslError
from pgssl_core.project.baseline_compare import (
    baseline_dir,
    compare_counts,
    compare_with_baseline,
    label_budget,
    load_comparison,
    round_ious,
    run_config,
    train_baseline,
)
from pgssl_core.train import TrainingData, make_sample, run_training
from pgssl_core.train.plan import supervised_steps
from pgssl_core.train.progress import read_metrics
from tests.train.conftest import synth_tile


def _named_data(seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    lab = [make_sample(*synth_tile(rng), name=f"lab-{i}") for i in range(3)]
    unl = [make_sample(synth_tile(rng)[0], name=f"pool-{i}") for i in range(3)]
    val = [make_sample(*synth_tile(rng), name=f"val-{i}") for i in range(3)]
    return TrainingData(lab, unl, val)


def test_baseline_uses_the_same_labelled_tiles_config_and_step_budget(tmp_path, make_config):
    data = _named_data()
    config = make_config("pgssl", teacher_steps=4, pretrain_steps=2, finetune_steps=3)
    if "init" in config.to_dict():  # the engine may start from a shipped base model: not in a unit test
        config = replace(config, init="scratch")
    run = tmp_path / "run"
    run_training(data, config, run)
    result = train_baseline(data, run)
    out = baseline_dir(run)
    assert result.run_dir == out
    tiles = json.loads((out / "tiles.json").read_text())
    assert tiles["labelled"] == ["lab-0", "lab-1", "lab-2"] and tiles["val"] == ["val-0", "val-1", "val-2"]
    base_cfg = run_config(out)
    assert base_cfg.method == "supervised"
    assert {**base_cfg.to_dict(), "method": "pgssl"} == config.to_dict()  # everything else copied
    plan = next(e["plan"] for e in read_metrics(out / "metrics.jsonl") if e.get("plan"))
    assert plan == [[1, "supervised", supervised_steps(config.resolved_profile())]] and plan[0][2] == 4 + 3

    comparison = compare_with_baseline(run, data.val)
    assert comparison.tiles == 3 and comparison.tile_ids == ("val-0", "val-1", "val-2")
    assert comparison.delta == pytest.approx(comparison.iou_pgssl - comparison.iou_baseline)
    assert load_comparison(run) == comparison
    assert {p["method"] for p in label_budget([run])} == {"pgssl", "supervised (baseline)"}
    assert all(p["labelled"] == 3 for p in label_budget([run]))

    fewer = TrainingData(data.labelled[:2], data.unlabelled, data.val)
    with pytest.raises(PgsslError, match="same tiles"):
        train_baseline(fewer, run)


def _tiles(counts):
    return [TileConfusion(f"t{i}", *c) for i, c in enumerate(counts)]


def test_verdict_words_follow_the_interval():
    better = _tiles([(90, 10, 10)] * 6)
    worse = _tiles([(60, 20, 20)] * 6)
    helped = compare_counts(better, worse)
    assert helped.delta == pytest.approx(0.9 / 1.1 - 0.6)  # pooled IoU 90/110 vs 60/100
    assert helped.verdict.startswith("pretraining helped: +0.22 IoU over the supervised baseline on your 6 "
                                     "validation tiles")
    assert compare_counts(worse, better).verdict.startswith("pretraining did not help")
    mixed_a = _tiles([(90, 10, 10), (40, 30, 30)] * 3)
    mixed_b = _tiles([(40, 30, 30), (90, 10, 10)] * 3)
    assert compare_counts(mixed_a, mixed_b).verdict.startswith("no clear difference")
    one = compare_counts(better[:1], worse[:1])
    assert one.verdict.startswith("cannot tell") and np.isnan(one.delta_low)
    with pytest.raises(PgsslError, match="same validation tiles"):
        compare_counts(better[:2], _tiles([(1, 1, 1)] * 3))


def test_interval_is_wider_with_fewer_tiles():
    a = [(90, 10, 10), (70, 20, 10), (80, 5, 15), (60, 25, 15)]
    b = [(80, 15, 15), (72, 18, 10), (60, 20, 20), (61, 24, 15)]
    few = compare_counts(_tiles(a), _tiles(b))
    many = compare_counts(_tiles(a * 6), _tiles(b * 6))
    assert many.delta == pytest.approx(few.delta)
    assert many.delta_high - many.delta_low < few.delta_high - few.delta_low


def test_round_ious_best_and_last_per_stage():
    history = [{"stage": "teacher", "round": 1, "iou": 0.3}, {"stage": "teacher", "round": 1, "iou": 0.4},
               {"stage": "finetune", "round": 1, "iou": 0.5}, {"stage": "finetune", "round": 2, "iou": 0.45},
               {"stage": "finetune", "round": 2, "iou": 0.42}]
    rows = round_ious(history)
    assert [(r["round"], r["stage"], r["best_iou"], r["last_iou"]) for r in rows] == [
        (1, "teacher", 0.4, 0.4), (1, "finetune", 0.5, 0.5), (2, "finetune", 0.45, 0.42)]
