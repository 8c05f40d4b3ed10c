"""Resume after SIGKILL, and the background job runner (lock, status.json, cancel, interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgssl_core.models import load_model
from pgssl_core.project.training_job import JobBusyError, TrainingJob, read_status
from pgssl_core.train import run_training
from pgssl_core.train.checkpoint import load_checkpoint
from pgssl_core.train.progress import read_metrics

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import synth_data, _config
from pgssl_core.train import run_training
cfg = _config("pgssl", teacher_steps=6, pretrain_steps=40, finetune_steps=4, checkpoint_every=2)
run_training(synth_data(), cfg, {out!r}, progress=lambda e: time.sleep(0.05) if e["kind"] == "step" else None)
"""


@pytest.mark.slow
def test_resume_after_sigkill_reaches_same_steps_and_loads(tmp_path, make_data, make_config):
    out = tmp_path / "run"
    code = CHILD.format(tests=str(Path(__file__).parent), out=str(out))
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.time() + 240
    # kill once the pretraining stage has checkpointed at least once (mid-run, mid-stage); poll the
    # small metrics log rather than loading the checkpoint over and over
    while time.time() < deadline and child.poll() is None:
        steps = [e["step"] for e in read_metrics(out / "metrics.jsonl")
                 if e.get("kind") == "step" and e.get("stage") == "pretrain"]
        if steps and 4 <= max(steps) < 30:
            break
        time.sleep(0.2)
    assert child.poll() is None, "child finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    killed_at = load_checkpoint(out / "checkpoint.pt")
    assert killed_at["stage"] == "pretrain" and killed_at["step"] < 40
    assert not (out / "model.pt").exists()

    cfg = make_config("pgssl", teacher_steps=6, pretrain_steps=40, finetune_steps=4, checkpoint_every=2)
    events = []
    result = run_training(make_data(), cfg, out, progress=events.append, resume=True)
    first_stage = next(e for e in events if e["kind"] == "stage")
    assert first_stage["stage"] == "pretrain" and first_stage["step"] == killed_at["step"]  # no restart
    assert not any(e["kind"] == "step" and e["stage"] == "teacher" for e in events)  # finished stage skipped
    last = {(e["stage"]): e["step"] for e in events if e["kind"] == "step"}
    assert last == {"pretrain": 40, "finetune": 4}
    model, _, meta = load_model(result.model_path)
    assert meta["method"] == "pgssl"


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, tiny_data, make_config):
    from pgssl_core.errors import PgsslError

    with pytest.raises(PgsslError, match="nothing to resume"):
        run_training(tiny_data, make_config("supervised"), tmp_path / "empty", resume=True)


def test_job_runs_to_done_and_holds_machine_lock(tmp_path, make_data, make_config):
    lock = tmp_path / "train.lock"
    job = TrainingJob(make_data(), make_config("supervised", teacher_steps=30), tmp_path / "a", lock_path=lock)
    job.start()
    with pytest.raises(JobBusyError):
        TrainingJob(make_data(), make_config("supervised"), tmp_path / "b", lock_path=lock).start()
    # the lock also holds against another process
    probe = ("import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n print('busy')")
    assert subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True).stdout.strip() \
        == "busy"
    final = job.join(timeout=240)
    assert final["state"] == "done", final
    status = read_status(tmp_path / "a")
    assert status["state"] == "done" and status["progress"]["kind"] in ("val", "step")
    job2 = TrainingJob(make_data(), make_config("supervised"), tmp_path / "c", lock_path=lock).start()
    assert job2.join(timeout=240)["state"] == "done"  # lock released after the first job


def test_job_cancel_then_resume(tmp_path, make_data, make_config):
    lock = tmp_path / "train.lock"
    cfg = make_config("supervised", teacher_steps=400)
    job = TrainingJob(make_data(), cfg, tmp_path / "run", lock_path=lock).start()
    deadline = time.time() + 60
    while time.time() < deadline and not (job.snapshot().get("progress") or {}).get("kind") == "step":
        time.sleep(0.05)
    job.cancel()
    final = job.join(timeout=120)
    assert final["state"] == "cancelled" and "resume" in final["error"]
    assert read_status(tmp_path / "run")["state"] == "cancelled"
    step = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"]
    assert 0 < step < 400


def test_dead_owner_is_reported_interrupted(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": dead.pid, "error": None}))
    status = read_status(run)
    assert status["state"] == "interrupted" and "resume" in status["error"]
    (run / "status.json").write_text(json.dumps({"state": "done", "pid": dead.pid}))
    assert read_status(run)["state"] == "done"
