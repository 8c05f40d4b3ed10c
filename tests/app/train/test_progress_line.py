"""The live run's activity line on the Train page (issue 16, item 6): pseudo-labelling and how long ago the run
reported, and a busy machine is named (the ETA itself: tests/train/test_eta.py)."""

from __future__ import annotations

from app import train_progress


def test_pseudo_labelling_is_named() -> None:
    labelling = {"kind": "stage", "stage": "pseudo_labels", "round": 1, "step": 3, "total": 10, "time": 1050.0}
    assert "pseudo-labelling" in train_progress.activity_line(labelling, now=1051.0)


def test_activity_line_says_how_long_ago_the_run_reported() -> None:
    progress = {"kind": "step", "stage": "teacher", "round": 1, "step": 5, "total": 100, "time": 100.0}
    assert "last report" not in train_progress.activity_line(progress, now=101.0)
    assert "last report 2 min 00 s ago" in train_progress.activity_line(progress, now=220.0)
    assert train_progress.activity_line({}).startswith("preparing")


def test_busy_machine_is_named() -> None:
    assert train_progress.machine_busy_note(run_live=False, load_1min=0.3, cores=2) is None
    assert "busy" in train_progress.machine_busy_note(run_live=False, load_1min=1.5, cores=2)
    assert train_progress.machine_busy_note(run_live=True, load_1min=2.4, cores=2) is None  # the run itself
    assert "besides this run" in train_progress.machine_busy_note(run_live=True, load_1min=3.6, cores=2)
