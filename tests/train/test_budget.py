"""Time-budgeted runs (issue 23): step counts scaled to the budget, the deadline's hard stop, the ledger and
resume. Every test drives an injected clock; none asserts a wall-clock timing."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pgssl_core.errors import PgsslError
from pgssl_core.train import TrainingCancelled, plan, run_training
from pgssl_core.train.budget import EXTRA_EVALS, LEDGER, RunBudget, StepCosts, fit_steps, open_budget


class TickClock:
    """A clock that moves ``tick`` seconds each time it is read (so every measured cost is a whole number of
    reads), plus whatever a test adds with :meth:`jump` (a machine that suddenly got busy)."""

    def __init__(self, tick: float = 1.0) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def jump(self, seconds: float) -> None:
        self.now += seconds


def _budgeted(make_config, seconds: float, **overrides):
    return dataclasses.replace(make_config("pgssl", **overrides), time_budget_s=seconds)


def _cost(stages, steps, costs: StepCosts, eval_every: int) -> float:
    """The cost model fit_steps inverts, written out: steps, validations, pseudo-labelling passes."""
    total = 0.0
    for (name, _), n in zip(stages, steps, strict=True):
        if name == "pretrain":
            total += n * costs.pretrain_s + costs.pseudo_s
        else:
            total += n * costs.seg_s + (n / eval_every + EXTRA_EVALS) * costs.eval_s
    return total


def test_fit_steps_keeps_the_profiles_proportions_and_fits_the_time() -> None:
    stages = [("teacher", 150), ("pretrain", 80), ("finetune", 150)]  # quick's plan
    costs = StepCosts(seg_s=0.5, pretrain_s=1.2, eval_s=3.0, pseudo_s=20.0)
    for available in (300.0, 900.0, 2700.0):
        steps = fit_steps(stages, available, costs, eval_every=50)
        assert _cost(stages, steps, costs, 50) <= available
        # one more step for every stage would not fit: the budget is spent, not wasted
        assert _cost(stages, [n + 2 for n in steps], costs, 50) > available
        assert abs(steps[0] / steps[2] - 1.0) < 0.02 and abs(steps[1] / steps[0] - 80 / 150) < 0.02
    assert fit_steps(stages, 2700.0, costs, 50)[0] > 150  # a long budget lengthens the teacher too
    assert fit_steps(stages, 10.0, costs, 50) == [0, 0, 0]  # less than the fixed passes: nothing fits


def test_the_deadline_counts_earlier_sessions_and_a_resume_gets_what_is_left(tmp_path) -> None:
    clock = TickClock(tick=0.0)
    budget = RunBudget(100.0, clock=clock, path=tmp_path / LEDGER)
    clock.jump(60.0)
    assert budget.remaining() == 40.0 and not budget.reached()
    budget.start_stage(1, "teacher", 42)
    clock.jump(10.0)
    budget.save()
    again = open_budget(None, tmp_path, resume=True, write=True, clock=TickClock(tick=0.0))
    assert again is not None and again.remaining() == 30.0 and again.record(1, "teacher").planned == 42
    longer = open_budget(200.0, tmp_path, resume=True, write=True, clock=TickClock(tick=0.0))
    assert longer is not None and longer.remaining() == 130.0  # more minutes given on resume: more time
    assert open_budget(None, tmp_path / "fresh", resume=False, write=True) is None
    with pytest.raises(PgsslError, match="more than 0"):
        RunBudget(0.0)


def test_no_budget_runs_todays_plan(tmp_path, tiny_data, make_config) -> None:
    config = make_config("pgssl")
    assert config.time_budget_s is None
    events: list[dict] = []
    run_training(tiny_data, config, tmp_path / "run", progress=events.append)
    first = next(e for e in events if e.get("plan"))
    today = plan("pgssl", config.resolved_profile())
    assert [tuple(p) for p in first["plan"]] == [(r, k.value, n) for r, k, n in today]
    assert {e["stage"]: e["step"] for e in events if e["kind"] == "step"} == {"teacher": 4, "pretrain": 4,
                                                                             "finetune": 4}
    assert json.loads((tmp_path / "run" / "result.json").read_text())["time_budget"] is None
    assert not (tmp_path / "run" / LEDGER).exists()


def test_the_deadline_cuts_a_stage_and_the_run_still_ends_with_its_files(tmp_path, tiny_data, make_config) -> None:
    clock = TickClock()
    events: list[dict] = []

    def progress(event: dict) -> None:
        events.append(event)
        if event["kind"] == "step" and event["stage"] == "teacher" and event["step"] == 3:
            clock.jump(10_000.0)  # the machine got busy: the deadline passes during the teacher

    out = tmp_path / "run"
    run_training(tiny_data, _budgeted(make_config, 100.0), out, progress=progress, clock=clock)
    ledger = json.loads((out / "result.json").read_text())["time_budget"]
    teacher, pretrain, finetune = ledger["stages"]
    assert teacher["stage"] == "teacher" and teacher["cut"] and teacher["done"] == 3 < teacher["planned"]
    assert pretrain["skipped"] and finetune["skipped"] and ledger["budget_s"] == 100.0
    # after the deadline: no more steps, exactly one validation (of the weights where it stopped)
    cut_at = next(i for i, e in enumerate(events) if "time budget reached" in str(e.get("message")))
    after = events[cut_at:]
    assert not any(e["kind"] == "step" for e in after)
    assert [e["step"] for e in after if e["kind"] == "val"] == [3]
    assert (out / "model.pt").is_file() and (out / "best.pt").is_file()
    assert json.loads((out / LEDGER).read_text())["stages"] == ledger["stages"]
    # every step event's time left is the budget's
    assert all(e["eta_s"] <= 100.0 for e in events if e["kind"] == "step")


def test_a_budgeted_run_is_cancelled_resumed_and_keeps_its_plan(tmp_path, tiny_data, make_config) -> None:
    out = tmp_path / "run"
    config = _budgeted(make_config, 200.0)
    stop = {"now": False}

    def progress(event: dict) -> None:
        if event["kind"] == "step" and event["stage"] == "teacher" and event["step"] == 3:
            stop["now"] = True

    with pytest.raises(TrainingCancelled):
        run_training(tiny_data, config, out, progress=progress, cancel=lambda: stop["now"], clock=TickClock())
    first = json.loads((out / LEDGER).read_text())
    planned = first["stages"][0]["planned"]
    assert first["stages"][0]["done"] is None and planned > 3 and 0 < first["spent_s"] < 200.0

    events: list[dict] = []
    run_training(tiny_data, config, out, progress=events.append, resume=True, clock=TickClock())
    stage = next(e for e in events if e["kind"] == "stage")
    assert (stage["stage"], stage["step"], stage["total"]) == ("teacher", 3, planned)  # same plan, no restart
    final = json.loads((out / "result.json").read_text())["time_budget"]
    assert final["spent_s"] > first["spent_s"] and final["stages"][0]["planned"] == planned
    assert 3 <= final["stages"][0]["done"] <= planned and (out / "model.pt").is_file()
