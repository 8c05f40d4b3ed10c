"""The Train page says which job holds the machine's training lock and how to stop it (issue 21), and shows
the run's pseudo-label refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app import training
from app.train_panels import refusals
from pgssl_core.machine_lock import acquire_machine_lock, lock_holder, release_machine_lock

HOLD = ("import sys, time; from pgssl_core.machine_lock import acquire_machine_lock as a; "
        "a(sys.argv[1], run_dir='runs/cli-run'); print('held', flush=True); time.sleep(60)")


def test_holder_is_recorded_while_held_and_cleared_after(train_lock: Path) -> None:
    assert lock_holder() is None  # no file yet
    fd = acquire_machine_lock(run_dir="runs/abc")
    holder = lock_holder()
    assert holder is not None and holder["pid"] == os.getpid() and holder["run_dir"] == "runs/abc"
    assert holder["since"] <= time.time()
    assert training.holder_line() is None  # this process's own run shows in the live panel instead
    release_machine_lock(fd)
    assert lock_holder() is None and train_lock.read_text() == ""


def test_a_stale_note_is_not_believed(train_lock: Path) -> None:
    train_lock.write_text('{"pid": 1, "command": "gone", "run_dir": null, "since": 0}')
    assert lock_holder() is None and training.holder_line() is None


def test_another_process_is_named_with_how_to_stop_it(train_lock: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(train_lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        line = training.holder_line()
        assert line is not None
        assert f"process {other.pid}" in line and "run folder `runs/cli-run`" in line and f"`kill {other.pid}`" in line
        assert "-c" in line  # the holder's command line
    finally:
        other.kill()
        other.wait()
    assert training.holder_line() is None  # the kernel dropped the lock with the process


FLOCK = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); "
         "print('held', flush=True); time.sleep(60)")


def test_a_dead_holders_note_is_not_believed_while_another_holds_the_lock(train_lock: Path) -> None:
    """A holder killed outright leaves its note; a process that then takes the lock without one (e.g. `flock`)
    must not be reported as the dead one."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    train_lock.write_text(f'{{"pid": {gone.pid}, "command": "pgssl train", "run_dir": "runs/old", "since": 0}}')
    other = subprocess.Popen([sys.executable, "-c", FLOCK, str(train_lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        assert lock_holder() == {}
        line = training.holder_line()
        assert line is not None and str(gone.pid) not in line and "does not say which" in line
        assert str(train_lock) in line
    finally:
        other.kill()
        other.wait()


def test_refusals_come_from_info_events() -> None:
    events = [{"kind": "step", "step": 1}, {"kind": "info", "device": "cpu", "message": "on cpu"},
              {"kind": "info", "stage": "pseudo_labels", "round": 1, "refused": True,
               "message": "round 1 pseudo-labels refused: too few confident pixels; pretraining without them"}]
    assert refusals(events) == ["round 1 pseudo-labels refused: too few confident pixels; pretraining without them"]
