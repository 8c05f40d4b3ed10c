"""Kill -9 at the worst moment: label saves, training (at random steps and inside a ``best.pt`` or
``checkpoint.pt`` write) and prediction of a large raster. Real child processes, real SIGKILL.

Every random kill point comes from a seeded generator, so a failure replays exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from pgssl_core.catalog import Project
from pgssl_core.models import create_model, load_model, save_model
from pgssl_core.train.checkpoint import load_checkpoint
from pgssl_core.train.profiles import get_profile
from pgssl_core.train.progress import read_metrics
from pgssl_core.train.rounds import model_config

from .conftest import REPO_ROOT, child_env, cli, last_json_line, write_geotiff

pytestmark = pytest.mark.reliability

LABEL_KILLS = 16  # kill points of the label-save loop
LABEL_SEED = 12

SAVE_LOOP = r"""
import sys, zlib
import numpy as np
from pgssl_core.catalog import Project
root, ids = sys.argv[1], sys.argv[2].split(",")

def expected(tile_id, version):
    rng = np.random.default_rng(zlib.crc32(f"{tile_id}-{version}".encode()))
    return rng.choice(np.array([0, 1, 255], np.uint8), size=(64, 64))

project = Project.open(root)
print("ready", flush=True)
i = 0
while True:
    tile_id = ids[i % len(ids)]
    _, version = project.load_label(tile_id)
    saved = project.save_label(tile_id, expected(tile_id, version + 1), version)
    print(f"saved {tile_id} {saved}", flush=True)  # what the UI would report as saved
    i += 1
"""


def _expected_label(tile_id: str, version: int) -> np.ndarray:
    import zlib
    rng = np.random.default_rng(zlib.crc32(f"{tile_id}-{version}".encode()))
    return rng.choice(np.array([0, 1, 255], np.uint8), size=(64, 64))


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.mark.slow
def test_sigkill_during_label_saves_loses_nothing(small_project: tuple[Path, list[str]]) -> None:
    """16 seeded kill points during a tight save loop: every reported save is on disk, byte for byte."""
    root, ids = small_project
    rng = np.random.default_rng(LABEL_SEED)
    reported: dict[str, int] = {}
    kills = lost = saves = 0
    for _ in range(LABEL_KILLS):
        proc = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(root), ",".join(ids)], cwd=REPO_ROOT,
                                env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-2000:]
            first = proc.stdout.readline()  # saves are under way (however slow the machine is) ...
            assert first.startswith("saved "), proc.stderr.read()[-2000:]
            time.sleep(float(rng.uniform(0.0, 0.5)))  # ... then the kill lands at a seeded moment
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            out = first + proc.stdout.read()
        finally:
            _kill(proc)
            proc.stdout.close()
            proc.stderr.close()
        for line in out.splitlines():
            if line.startswith("saved "):
                _, tile_id, version = line.split()
                reported[tile_id] = int(version)
                saves += 1
        with Project.open(root) as project:  # recovery runs here
            for tile_id, version in reported.items():
                mask, stored = project.load_label(tile_id)
                # the kill may land after the commit but before the report: one newer version is fine
                if stored not in (version, version + 1) or not np.array_equal(mask, _expected_label(tile_id, stored)):
                    lost += 1
    print(f"label saves: {kills} kill points, {saves} reported saves, {lost} labels lost")
    assert kills == LABEL_KILLS and saves > 0
    assert lost == 0
    leftovers = [p.name for p in (root / "labels").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # temp files of interrupted saves were removed on open


# --------------------------------------------------------------------------------------------- training

def _train_folders(base: Path) -> Path:
    """images/ (48 px GeoTIFFs), masks/ (0/255 PNGs) and a manifest with 7 train and 3 val tiles."""
    rng = np.random.default_rng(0)
    (base / "images").mkdir(parents=True)
    (base / "masks").mkdir()
    rows = ["file,split"]
    for i in range(10):
        img = rng.integers(0, 70, (3, 48, 48)).astype("uint8")
        mask = np.zeros((48, 48), np.uint8)
        y, x = rng.integers(0, 30, 2)
        img[:, y:y + 14, x:x + 14] = 200
        mask[y:y + 14, x:x + 14] = 255
        transform = from_origin(500000 + 20 * i, 4500000, 0.3, 0.3)
        with rasterio.open(base / "images" / f"t{i}.tif", "w", driver="GTiff", width=48, height=48, count=3,
                           dtype="uint8", crs="EPSG:32633", transform=transform) as dst:
            dst.write(img)
        Image.fromarray(mask).save(base / "masks" / f"t{i}.png")
        rows.append(f"t{i}.tif,{'val' if i >= 7 else 'train'}")
    (base / "manifest.csv").write_text("\n".join(rows) + "\n")
    return base


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--images", str(data / "images"), "--masks", str(data / "masks"), "--manifest",
            str(data / "manifest.csv"), "--split", "train", "--val-split", "val", "--profile", "test",
            "--device", "cpu", "--rounds", "1", "--init", "scratch", "--out", str(out), *extra]


# Stall inside the atomic write of one file (its temp file complete, not yet renamed) so that the
# SIGKILL lands exactly there; every other write goes through.
STALL_CHILD = r"""
import os, sys, time
from pathlib import Path
target, nth, ready = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
real_replace, seen = os.replace, [0]
def replace(src, dst, *a, **k):
    if Path(dst).name == target:
        seen[0] += 1
        if seen[0] == nth:
            ready.write_text(str(dst))
            time.sleep(600)
    return real_replace(src, dst, *a, **k)
os.replace = replace
from pgssl_core.cli import main
sys.exit(main(sys.argv[4:]))
"""


def _stall_and_kill(target: str, nth: int, argv: list[str], tmp: Path) -> None:
    ready = tmp / f"ready-{target}-{nth}"
    proc = subprocess.Popen([sys.executable, "-c", STALL_CHILD, target, str(nth), str(ready), *argv],
                            cwd=REPO_ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            assert proc.poll() is None, f"child ended before write {nth} of {target}: {proc.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, f"write {nth} of {target} never came"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _kill(proc)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_inside_best_and_checkpoint_writes_then_resume(tmp_path: Path) -> None:
    """Killed while the 2nd ``best.pt`` is written, then while a later ``checkpoint.pt`` is written:
    the previous files still load each time, and ``--resume`` finishes the run."""
    data, out = _train_folders(tmp_path / "data"), tmp_path / "run"
    _stall_and_kill("best.pt", 2, train_args(data, out), tmp_path)
    load_model(out / "best.pt")  # the previous best.pt is whole
    ck = load_checkpoint(out / "checkpoint.pt")
    assert not (out / "model.pt").exists()

    _stall_and_kill("checkpoint.pt", 2, train_args(data, out, "--resume"), tmp_path)
    after = load_checkpoint(out / "checkpoint.pt")  # the previous checkpoint is whole
    assert (after["round"], after["stage"], after["step"]) >= (ck["round"], ck["stage"], 0)
    load_model(out / "best.pt")

    done = cli(*train_args(data, out, "--resume"), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json_line(done.stdout)
    load_model(result["model"])
    _, _, meta = load_model(out / "best.pt")
    reported = [e["val"]["iou"] for e in read_metrics(out / "metrics.jsonl") if e.get("kind") == "val"]
    assert abs(meta["val"]["iou"] - max(reported)) < 1e-9  # best.pt is the best evaluation of the whole run


@pytest.mark.slow
def test_sigkill_at_random_training_steps_then_resume(tmp_path: Path) -> None:
    """Two seeded random kill points (by step reached) in one run; resume finishes it."""
    data, out = _train_folders(tmp_path / "data"), tmp_path / "run"
    rng = np.random.default_rng(7)
    killed_at = []
    for attempt in range(2):
        target = int(rng.integers(1, 10))  # the run has 12 steps (teacher 4, pretrain 4, finetune 4)
        argv = train_args(data, out, *(["--resume"] if attempt else []))
        proc = subprocess.Popen([sys.executable, "-m", "pgssl_core", *argv], cwd=REPO_ROOT, env=child_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 240
            while proc.poll() is None and time.monotonic() < deadline:
                steps = [e for e in read_metrics(out / "metrics.jsonl") if e.get("kind") == "step"]
                if len(steps) >= target * (attempt + 1):
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the run ended before its kill point"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            _kill(proc)
        killed_at.append(target)
        if (out / "checkpoint.pt").exists():
            load_checkpoint(out / "checkpoint.pt")
        if (out / "best.pt").exists():
            load_model(out / "best.pt")
        assert not (out / "model.pt").exists()
    done = cli(*train_args(data, out, "--resume"), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    load_model(out / "model.pt")
    print(f"training: killed after steps {killed_at}, resumed to completion")


# --------------------------------------------------------------------------------------------- prediction

def test_sigkill_during_prediction_never_leaves_a_finished_looking_geotiff(tmp_path: Path) -> None:
    raster = write_geotiff(tmp_path / "big.tif", size=1024)
    model_path = tmp_path / "model.pt"
    config = model_config(get_profile("test"), 3)
    save_model(model_path, create_model(config), config, {"note": "untrained, for the kill test"})
    out = tmp_path / "pred"
    argv = [sys.executable, "-m", "pgssl_core", "predict", "--model", str(model_path), "--input", str(raster),
            "--out", str(out), "--tile", "256", "--overlap", "32", "--device", "cpu"]
    rng = np.random.default_rng(3)
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if out.is_dir() and any(p.name.startswith(".") for p in out.iterdir()):
                break  # the output's temp file exists: prediction is under way
            time.sleep(0.02)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        assert proc.poll() is None, "prediction finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _kill(proc)
    finished = out / "big_probability.tif"
    assert not finished.exists()  # only the dot-named temp file may be left, never the final name
    assert all(p.name.startswith(".") for p in out.iterdir())
    again = subprocess.run(argv, cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    with rasterio.open(finished) as ds:
        assert (ds.width, ds.height) == (1024, 1024)
        assert ds.read(1).max() <= 255
