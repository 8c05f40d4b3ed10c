"""Concurrency: two processes paint the same tile, two "Train" presses at the same moment, two projects
side by side, and the machine lock held by a training job whose process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pgssl_core.catalog import Project, import_file
from pgssl_core.project.training_job import JobBusyError, TrainingJob, read_status
from pgssl_core.train import TrainConfig, TrainingData, make_sample

from .conftest import REPO_ROOT, child_env, write_geotiff

pytestmark = pytest.mark.reliability

PAINTER = r"""
import json, sys
import numpy as np
from pgssl_core.catalog import Project
from pgssl_core.errors import StaleVersionError
root, tile_id, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
saved, refused = [], 0
with Project.open(root) as project:
    mask, version = project.load_label(tile_id)
    while len(saved) < n:
        edit = mask.copy()
        edit[who, len(saved) % 64] = 1  # each painter owns one row: a lost update would erase a stroke
        try:
            version = project.save_label(tile_id, edit, version)
            saved.append(version)
            mask = edit
        except StaleVersionError:
            refused += 1  # what the label page shows as "changed in another tab": reload, redo the stroke
            mask, version = project.load_label(tile_id)
print(json.dumps({"saved": saved, "refused": refused}))
"""


def test_two_processes_painting_one_tile_never_lose_an_update(small_project) -> None:
    root, ids = small_project
    with Project.open(root) as project:
        project.save_label(ids[0], np.full((64, 64), 255, np.uint8), 0)
    procs = [subprocess.Popen([sys.executable, "-c", PAINTER, str(root), ids[0], str(who), "40"], cwd=REPO_ROOT,
                              env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in (0, 1)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        reports.append(__import__("json").loads(out.strip().splitlines()[-1]))
    versions = sorted(v for r in reports for v in r["saved"])
    assert versions == list(range(2, 82))  # 80 saves, each a distinct new version: none overwrote another
    with Project.open(root) as project:
        mask, version = project.load_label(ids[0])
    assert version == 81
    assert (mask[0] == 1).sum() == 40 and (mask[1] == 1).sum() == 40  # every stroke of both painters is there
    print(f"two painters: 80 saves, {sum(r['refused'] for r in reports)} refused as stale and redone")


def _tiny_data() -> TrainingData:
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(4):
        image = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
        mask = np.zeros((48, 48), np.uint8)
        mask[10:30, 10:30] = 1
        samples.append(make_sample(image, mask))
    return TrainingData(samples[:3], [], samples[3:])


def _config(**overrides) -> TrainConfig:
    return TrainConfig(method="supervised", profile="test", device="cpu", init="scratch",
                       profile_overrides={"supervised_steps": 400, **overrides})


def test_two_train_presses_at_once_start_exactly_one_job(tmp_path: Path) -> None:
    lock = tmp_path / "train.lock"
    jobs = [TrainingJob(_tiny_data(), _config(), tmp_path / f"run{i}", lock_path=lock) for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def press(i: int) -> None:
        barrier.wait()
        try:
            jobs[i].start()
            outcomes[i] = "started"
        except JobBusyError as exc:
            outcomes[i] = str(exc)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert sorted(outcomes.values())[1] == "started" and "another training job" in sorted(outcomes.values())[0]
        winner = next(i for i, v in outcomes.items() if v == "started")
        loser = 1 - winner
        assert read_status(tmp_path / f"run{winner}")["state"] in ("queued", "running")  # what the other tab shows
        assert read_status(tmp_path / f"run{loser}") is None  # the refused press wrote nothing
    finally:
        for job in jobs:
            job.cancel()
            job.join(120)


def test_two_projects_side_by_side_stay_separate(tmp_path: Path) -> None:
    roots = [tmp_path / "a", tmp_path / "b"]
    ids = {}
    for i, root in enumerate(roots):
        with Project.create(root, root.name) as project:
            ids[root] = import_file(project, write_geotiff(tmp_path / f"{root.name}.tif", seed=i)).tile_ids[0]

    def paint(root: Path, value: int) -> None:
        with Project.open(root) as project:
            version = 0
            for _ in range(20):
                version = project.save_label(ids[root], np.full((64, 64), value, np.uint8), version)

    threads = [threading.Thread(target=paint, args=(root, value)) for root, value in zip(roots, (0, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for root, value in zip(roots, (0, 1)):
        with Project.open(root) as project:
            assert [t.id for t in project.tiles()] == [ids[root]]
            mask, version = project.load_label(ids[root])
            assert version == 20 and (mask == value).all()
    with pytest.raises(Exception):
        with Project.open(roots[0]) as project:
            project.load_label(ids[roots[1]])  # a tile id of the other project is unknown here


JOB_CHILD = r"""
import sys, time
import numpy as np
from pgssl_core.train import TrainConfig, TrainingData, make_sample
from pgssl_core.project.training_job import TrainingJob
rng = np.random.default_rng(0)
s = [make_sample(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), (rng.random((48, 48)) > 0.5).astype(np.uint8))
     for _ in range(4)]
cfg = TrainConfig(method="supervised", profile="test", device="cpu", init="scratch",
                  profile_overrides={"supervised_steps": 100000})
job = TrainingJob(TrainingData(s[:3], [], s[3:]), cfg, sys.argv[1], lock_path=sys.argv[2]).start()
while job.snapshot().get("state") != "running":
    time.sleep(0.05)
print("running", flush=True)
time.sleep(600)
"""


def test_killed_training_process_frees_the_lock_and_reads_interrupted(tmp_path: Path) -> None:
    """The app server dies (SIGKILL) mid-training: the run reads "interrupted" and a new job can start."""
    run, lock = tmp_path / "run", tmp_path / "train.lock"
    proc = subprocess.Popen([sys.executable, "-c", JOB_CHILD, str(run), str(lock)], cwd=REPO_ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running", proc.stderr.read()[-2000:]
        with pytest.raises(JobBusyError):  # while it lives, the machine is taken
            TrainingJob(_tiny_data(), _config(), tmp_path / "other", lock_path=lock).start()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    status = read_status(run)
    assert status["state"] == "interrupted" and "resume" in status["error"]
    job = TrainingJob(_tiny_data(), _config(supervised_steps=2), tmp_path / "after", lock_path=lock).start()
    assert job.join(300)["state"] == "done"  # the kernel released the dead process's lock


def test_cli_train_waits_for_the_machine_lock(tmp_path: Path) -> None:
    """A CLI ``train`` started while an app job holds the machine lock is refused in one line."""
    lock = tmp_path / "train.lock"
    job = TrainingJob(_tiny_data(), _config(), tmp_path / "app-run", lock_path=lock).start()
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    from PIL import Image
    for i in range(3):
        write_geotiff(images / f"t{i}.tif", size=48, seed=i)
        Image.fromarray(np.full((48, 48), 255 * (i % 2), np.uint8)).save(masks / f"t{i}.png")
    out = tmp_path / "cli-run"
    argv = ["train", "--images", str(images), "--masks", str(masks), "--profile", "test", "--device", "cpu",
            "--init", "scratch", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "pgssl_core", *argv],
                            cwd=REPO_ROOT, env=child_env(PGSSL_TRAIN_LOCK=str(lock)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not (out / "metrics.jsonl").exists():
            time.sleep(0.1)
        started_training = (out / "metrics.jsonl").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
        job.cancel()
        job.join(120)
    assert not started_training and proc.returncode == 2 and "another training job" in err
