"""The pseudo-label gate: a round whose pseudo-labels miss most roofs on the labelled tiles (or call
everything a roof) does not train the pretraining's segmentation task; the decision is reported and kept."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from pgssl_core.errors import PgsslError
from pgssl_core.models import load_model, save_model
from pgssl_core.shipped import BASE_MODEL_PATH
from pgssl_core.train import get_profile, run_training
from pgssl_core.train.loop import RunState
from pgssl_core.train.progress import read_metrics
from pgssl_core.train.pseudo_labelling import pseudo_label_gate

GOOD = {"building_share": 0.1, "ignored_share": 0.2, "pl_precision": 0.8, "pl_recall": 0.7, "pl_tiles": 4}


def test_gate_refuses_low_recall_and_says_why() -> None:
    reason = pseudo_label_gate({**GOOD, "pl_recall": 0.03}, 0.3, 0.3)
    assert reason is not None and "recall 0.03 on the labelled tiles is below 0.30" in reason
    assert pseudo_label_gate(GOOD, 0.3, 0.3) is None


def test_gate_refuses_low_precision_and_can_be_switched_off() -> None:
    everything_roof = {**GOOD, "building_share": 0.9, "pl_precision": 0.1, "pl_recall": 1.0}
    reason = pseudo_label_gate(everything_roof, 0.3, 0.3)
    assert reason is not None and "precision 0.10" in reason
    assert pseudo_label_gate(everything_roof, 0.3, 0.0) is None
    assert pseudo_label_gate({**GOOD, "pl_recall": 0.0, "building_share": 0.0}, 0.0, 0.0) is None


def test_gate_on_nothing_claimed_and_on_what_cannot_be_measured() -> None:
    unmeasured = {**GOOD, "pl_precision": math.nan, "pl_recall": math.nan}
    assert pseudo_label_gate(unmeasured, 0.3, 0.3) is None  # nothing to judge the teacher against
    reason = pseudo_label_gate({**unmeasured, "building_share": 0.0}, 0.3, 0.3)
    assert reason is not None and "no pixel" in reason


def test_profiles_gate_and_margin_defaults_and_range() -> None:
    quick = get_profile("quick")
    assert (quick.pseudo.min_recall, quick.pseudo.min_precision, quick.evaluation.select_margin) == (0.3, 0.3, 0.005)
    test = get_profile("test")
    assert (test.pseudo.min_recall, test.pseudo.min_precision, test.evaluation.select_margin) == (0.0, 0.0, 0.0)
    with pytest.raises(PgsslError, match="pseudo_min_recall"):
        get_profile("quick", pseudo_min_recall=1.5)
    with pytest.raises(PgsslError, match="select_margin"):
        get_profile("quick", select_margin=-0.1)


def test_run_state_keeps_decisions_through_a_checkpoint() -> None:
    state = RunState(best_iou=0.4, history=[{"iou": 0.4}], pseudo_labels=[{"round": 1, "refused": True}])
    assert RunState.from_dict(state.to_dict()) == state
    assert RunState.from_dict({"best_iou": 0.1, "history": []}).pseudo_labels == []  # an older checkpoint


def _biased_base_model(path: Path, building: bool) -> Path:
    """The base model with its head's bias set so that it always says background (or always building)."""
    model, config, _ = load_model(BASE_MODEL_PATH)
    head = [m for m in model.get_submodule("segmentation_head").modules() if isinstance(m, nn.Conv2d)][-1]
    assert head.bias is not None
    with torch.no_grad():
        head.bias.copy_(torch.tensor([-1e3, 1e3] if building else [1e3, -1e3]))
    save_model(path, model, config)
    return path


def _gated_run(tmp_path: Path, make_data, make_config, init: str) -> tuple[dict, list[dict]]:
    config = make_config("pgssl", pseudo_min_recall=0.3, pseudo_min_precision=0.3)
    config.init = init
    events: list[dict] = []
    run_training(make_data(), config, tmp_path / "run", progress=events.append)
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert (tmp_path / "run" / "model.pt").is_file()  # a refused round still ends in a model
    return result, events


def _pretrain_tasks(events: list[dict]) -> set[str]:
    return {k for e in events if e["kind"] == "step" and e["stage"] == "pretrain" for k in e["losses"]}


@pytest.mark.parametrize(("building", "figure"), [(False, "recall 0.00"), (True, "precision 0.")])
def test_bad_teacher_is_refused_and_pretraining_runs_without_its_labels(tmp_path, make_data, make_config,
                                                                        building, figure) -> None:
    init = _biased_base_model(tmp_path / "bad.pt", building)
    result, events = _gated_run(tmp_path, make_data, make_config, str(init))
    refusals = [e for e in events if e.get("refused")]
    assert len(refusals) == 1
    assert refusals[0]["message"].startswith(f"round 1 pseudo-labels refused: {figure}")
    assert result["pseudo_labels"][0]["refused"] is True and result["pseudo_labels"][0]["round"] == 1
    assert "seg" not in _pretrain_tasks(events) and {"byol", "inpaint"} <= _pretrain_tasks(events)
    logged = [e for e in read_metrics(tmp_path / "run" / "metrics.jsonl") if e.get("refused")]
    assert logged and logged[0]["gate"]["refused"] is True  # the run's log keeps it for a report


def test_good_enough_teacher_passes_the_gate(tmp_path, make_data, make_config) -> None:
    # The base model recognises the synthetic bright roofs (recall ~1, precision ~0.8 after 4 steps).
    result, events = _gated_run(tmp_path, make_data, make_config, "base")
    assert not any(e.get("refused") for e in events)
    record = result["pseudo_labels"][0]
    assert record["refused"] is False and record["pl_recall"] >= 0.3 and record["pl_precision"] >= 0.3
    assert "seg" in _pretrain_tasks(events)
