"""A finished run replaces the active model only when it beats it beyond the noise (issue 21)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from pgssl_core.assess.model_error import TileConfusion
from pgssl_core.errors import PgsslError
from pgssl_core.project.active_model import active_model_setting, set_active_model
from pgssl_core.project.data_plan import plan_project_data
from pgssl_core.project.model_activation import (
    BASE_LABEL,
    DECISION_FILE,
    Decision,
    activate_if_better,
    decide,
    incumbent_model,
    paired_gain,
    read_decision,
)
from pgssl_core.project.validation_size import ValidationSize, mask_size
from pgssl_core.shipped import BASE_MODEL_PATH

# Fully labelled validation masks of 40 buildings: enough to be the model's accuracy.
FULL = ValidationSize(tiles=3, labelled_px=3 * 256 * 256, building_px=9000, buildings=40, complete_tiles=3)


def _tiles(rows: list[tuple[int, int, int]]) -> list[TileConfusion]:
    return [TileConfusion(f"t{i}", *r) for i, r in enumerate(rows)]


def test_a_worse_run_is_not_activated_and_says_why() -> None:
    new = _tiles([(30, 60, 10)] * 3)  # IoU 0.30 on each tile: whole blocks called roof
    old = _tiles([(32, 50, 18)] * 3)  # IoU 0.32
    decision = decide(new, old, BASE_LABEL, FULL)
    assert not decision.activated
    # the same loss on every tile: worse beyond the noise, and said so
    assert decision.line().startswith("not activated: IoU 0.30 vs 0.32 for the base model on your 3 validation "
                                      "tiles (worse than the base model: the gain is -0.02")


def test_a_clear_loss_on_every_tile_is_said_to_be_worse() -> None:
    size = ValidationSize(4, 4 * 256 * 256, 9000, 40, 4)
    new = _tiles([(5, 5, 60), (4, 6, 61), (6, 4, 59), (5, 5, 60)])  # IoU ~0.07: most roofs missed
    old = _tiles([(30, 60, 10), (29, 61, 11), (31, 59, 9), (30, 60, 10)])  # IoU ~0.30
    decision = decide(new, old, BASE_LABEL, size)
    assert not decision.activated and decision.gain_high < 0
    assert "worse than the base model" in decision.reason and "lies below 0" in decision.reason, decision.reason
    assert "includes 0" not in decision.reason


def test_a_clear_gain_on_every_tile_is_activated() -> None:
    size = ValidationSize(5, 5 * 256 * 256, 9000, 40, 5)
    new = _tiles([(70, 10, 20), (65, 15, 20), (72, 8, 20), (68, 12, 20), (71, 9, 20)])
    old = _tiles([(50, 30, 20), (48, 32, 20), (52, 28, 20), (49, 31, 20), (51, 29, 20)])
    decision = decide(new, old, BASE_LABEL, size)
    assert decision.activated, decision.line()
    assert decision.gain_low > 0 and decision.candidate_iou > decision.incumbent_iou


def test_a_gain_carried_by_one_tile_is_noise() -> None:
    size = ValidationSize(5, 5 * 256 * 256, 9000, 40, 5)
    # a big win on one tile, small losses on the other four: the pooled gain is positive, its interval is not
    new = _tiles([(90, 5, 5), (48, 32, 20), (47, 33, 20), (48, 32, 20), (47, 33, 20)])
    old = _tiles([(30, 50, 20), (50, 30, 20), (50, 30, 20), (50, 30, 20), (50, 30, 20)])
    gain, low, high = paired_gain(new, old)
    assert gain > 0 and low < 0 < high
    assert not decide(new, old, BASE_LABEL, size).activated


def test_too_few_tiles_or_strokes_never_activate() -> None:
    new, old = _tiles([(90, 5, 5)] * 2), _tiles([(30, 50, 20)] * 2)
    two = ValidationSize(2, 2 * 256 * 256, 9000, 40, 2)
    decision = decide(new, old, BASE_LABEL, two)
    assert not decision.activated and "fewer than 3 validation tiles" in decision.reason
    # scribbled validation tiles: the run won on strokes (0.995) and lost on whole tiles
    strokes = ValidationSize(3, 20_000, 4000, 25, 0)
    decision = decide(_tiles([(90, 5, 5)] * 3), _tiles([(30, 50, 20)] * 3), BASE_LABEL, strokes)
    assert not decision.activated and "only partly labelled" in decision.reason
    assert decision.figures().startswith("agreement with your strokes 0.90 vs 0.30")
    assert decision.score_name == "agreement with your strokes on 3 tiles (not an accuracy)"


def test_paired_gain_needs_the_same_tiles() -> None:
    with pytest.raises(PgsslError, match="same validation tiles"):
        paired_gain(_tiles([(1, 1, 1)]), [TileConfusion("other", 1, 1, 1)])


def test_decision_round_trips_through_json() -> None:
    decision = decide(_tiles([(1, 0, 0)]), _tiles([(1, 1, 0)]), BASE_LABEL, FULL)  # one tile: no interval
    assert math.isnan(decision.gain_low)
    again = Decision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again.line() == decision.line() and math.isnan(again.gain_low)


def _train_run(project, model: Path) -> str:
    """A finished-looking ``train`` run row whose folder holds ``model`` and its recorded validation tiles."""
    plan = plan_project_data(project, seed=0, max_val=4)
    run_id, run_dir = project.create_run("train", {"data": {"val_ids": list(plan.val),
                                                            "val_source": plan.val_source}})
    shutil.copy(model, run_dir / "best.pt")
    return run_id


def test_the_same_model_again_does_not_replace_the_active_one(make_project, tiny_model_file: Path) -> None:
    project = make_project(n=6, labelled=2, reference=True)  # 4 validation tiles with reference masks
    assert incumbent_model(project) == (BASE_MODEL_PATH, BASE_LABEL)  # no active model yet: the base model
    set_active_model(project, tiny_model_file)
    run_id = _train_run(project, tiny_model_file)
    model = project.run(run_id)["path"] / "best.pt"
    decision = activate_if_better(project, run_id, model)
    assert not decision.activated and decision.tiles == 4 and decision.scoring in ("accuracy", "small")
    assert decision.candidate_iou == decision.incumbent_iou  # same weights, same tiles, scored the same way
    assert decision.incumbent.startswith("the active model")
    assert active_model_setting(project) == str(tiny_model_file.resolve())  # unchanged
    assert read_decision(project.run(run_id)["path"]) == decision  # kept with the run


def test_a_better_model_replaces_a_worse_active_one(make_project, tiny_model_file: Path) -> None:
    project = make_project(n=8, labelled=2, reference=True)  # 4 validation tiles (the run records at most 4)
    set_active_model(project, tiny_model_file)  # random weights
    run_id = _train_run(project, BASE_MODEL_PATH)  # the base model finds the bright roofs
    model = project.run(run_id)["path"] / "best.pt"
    decision = activate_if_better(project, run_id, model)
    assert decision.activated, decision.line()
    assert active_model_setting(project) == f"runs/{run_id}/best.pt"
    assert json.loads((project.run(run_id)["path"] / DECISION_FILE).read_text())["activated"] is True


def test_an_unreadable_model_is_kept_but_not_activated(make_project, tmp_path: Path) -> None:
    project = make_project(n=6, labelled=2, reference=True)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    run_id = _train_run(project, broken)
    decision = activate_if_better(project, run_id, project.run(run_id)["path"] / "best.pt")
    assert not decision.activated and decision.reason.startswith("could not compare the models")
    assert active_model_setting(project) is None


def test_validation_scoring_names() -> None:
    full = np.zeros((256, 256), np.uint8)
    full[10:40, 10:40] = 1
    strokes = np.full((256, 256), 255, np.uint8)
    strokes[10:20, 10:40] = 1
    assert mask_size([full]).scoring == "small"
    assert mask_size([full, strokes]).score_name() == "agreement with your strokes on 2 tiles (not an accuracy)"
    assert FULL.scoring == "accuracy" and FULL.score_name().startswith("the model's accuracy on 3 tiles")


def test_report_shows_the_selected_evaluation_and_names_a_stroke_score(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from pgssl_core.io import atomic_write_json
    from pgssl_core.report.gather import RunInfo
    from pgssl_core.report.html import _model_card

    history = [{"stage": "teacher", "round": 1, "step": 10, "iou": 0.40, "f1": 0.5, "selected": True},
               {"stage": "finetune", "round": 1, "step": 20, "iou": 0.41, "f1": 0.5, "selected": False},  # margin
               {"stage": "finetune", "round": 1, "step": 30, "iou": 0.38, "f1": 0.5, "selected": False}]
    strokes = ValidationSize(1, 900, 800, 3, 0)
    decision = decide(_tiles([(99, 1, 0)]), _tiles([(50, 30, 20)]), BASE_LABEL, strokes)
    atomic_write_json(tmp_path / DECISION_FILE, decision.to_dict())
    data = SimpleNamespace(maps=SimpleNamespace(manifest={"source": "model", "footprints": 0, "tiles": 1}),
                           buildings=[], run=RunInfo(tmp_path, {"train": {}, "data": {}}, {"history": history}, None))
    rows = dict(_model_card(data))  # type: ignore[arg-type]
    key = "Validation figures (selected model): agreement with your strokes on 1 tile (not an accuracy)"
    assert rows[key].startswith("IoU 0.400") and "teacher" in rows[key]
    assert rows["Made the active model?"].startswith("not activated: agreement with your strokes 0.99 vs 0.50")
