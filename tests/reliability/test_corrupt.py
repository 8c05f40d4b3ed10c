"""Corrupt files on disk: truncated checkpoint, best.pt, label PNG and project.sqlite; a corrupt
``checkpoint.pt`` at resume; a pickle that carries code offered as a model."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.catalog import Project
from pgssl_core.errors import CatalogError, ModelFileError
from pgssl_core.models import create_model, load_model, save_model
from pgssl_core.train.checkpoint import load_checkpoint, save_checkpoint
from pgssl_core.train.profiles import get_profile
from pgssl_core.train.progress import read_metrics
from pgssl_core.train.rounds import model_config

from .conftest import cli, last_json_line, write_geotiff
from .test_kill import _stall_and_kill, _train_folders, train_args

pytestmark = pytest.mark.reliability

CUTS = (0, 10, 0.5, -1)  # keep 0 bytes, 10 bytes, half, all but the last byte


def _truncate(path: Path, cut: float) -> None:
    data = path.read_bytes()
    keep = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    path.write_bytes(data[:keep])


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message and len(message) < 400, message
    return message


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "best.pt"
    config = model_config(get_profile("test"), 3)
    save_model(path, create_model(config), config, {"val": {"iou": 0.5}})
    return path


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_checkpoint_is_one_line(tmp_path: Path, cut) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, stage="teacher", round=1, step=2, total=4, modules={"m": {"w": torch.ones(64)}})
    _truncate(path, cut)
    with pytest.raises(ModelFileError) as info:
        load_checkpoint(path)
    assert "checkpoint.pt" in _one_line(info.value)


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_best_pt_is_one_line_in_the_library_and_the_cli(tmp_path: Path, model_file: Path, cut) -> None:
    path = tmp_path / "best.pt"
    path.write_bytes(model_file.read_bytes())
    _truncate(path, cut)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert "best.pt" in _one_line(info.value)
    if cut == 0.5:  # the CLI says the same in one line (once: a subprocess costs seconds)
        tile = write_geotiff(tmp_path / "t.tif")
        proc = cli("predict", "--model", str(path), "--input", str(tile), "--out", str(tmp_path / "pred"))
        assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
        assert proc.stderr.startswith("error: ") and "best.pt" in proc.stderr


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_label_png_is_one_line(small_project, cut) -> None:
    root, ids = small_project
    with Project.open(root) as project:
        project.save_label(ids[0], np.ones((64, 64), np.uint8), 0)
        _truncate(root / "labels" / f"{ids[0]}-v1.png", cut)
        with pytest.raises(CatalogError) as info:
            project.load_label(ids[0])
        assert f"{ids[0]}-v1.png" in _one_line(info.value)
        assert project.load_label(ids[1])[1] == 0  # the other tiles still work


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_project_sqlite_is_one_line(small_project, cut) -> None:
    root, _ = small_project
    _truncate(root / "project.sqlite", cut)
    with pytest.raises(CatalogError) as info:
        with Project.open(root) as project:
            project.tiles()  # a cut past the header may only show on the first real query
    assert "project.sqlite" in _one_line(info.value)


class _Payload:
    """Unpickling this runs ``os.system``: exactly what ``weights_only=True`` must refuse."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_carrying_code_is_refused_as_a_model(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "pgssl-model/1", "config": {}, "state_dict": {}, "meta": _Payload(marker)}, evil)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(_Payload(marker)))
    for path in (evil, plain):
        with pytest.raises(ModelFileError) as info:
            load_model(path)
        _one_line(info.value)
        with pytest.raises(ModelFileError):
            load_checkpoint(path)
    tile = write_geotiff(tmp_path / "t.tif")
    proc = cli("predict", "--model", str(evil), "--input", str(tile), "--out", str(tmp_path / "pred"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert not marker.exists()  # the payload never ran


@pytest.mark.slow
def test_corrupt_checkpoint_resumes_from_the_last_good_stage_file(tmp_path: Path) -> None:
    """Killed in the pretraining stage (teacher finished), then ``checkpoint.pt`` is truncated: ``--resume``
    restarts from ``stages/r1-teacher.pt`` and finishes; best.pt stays the best evaluation of the run."""
    data, out = _train_folders(tmp_path / "data"), tmp_path / "run"
    _stall_and_kill("checkpoint.pt", 3, train_args(data, out), tmp_path)  # 3rd write: pretrain step 2
    assert (out / "stages" / "r1-teacher.pt").is_file()
    _truncate(out / "checkpoint.pt", 0.5)
    done = cli(*train_args(data, out, "--resume"), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "checkpoint.pt" in done.stderr and "stage files" in done.stderr  # the fallback is reported
    load_model(last_json_line(done.stdout)["model"])
    _, _, meta = load_model(out / "best.pt")
    reported = [e["val"]["iou"] for e in read_metrics(out / "metrics.jsonl") if e.get("kind") == "val"]
    assert abs(meta["val"]["iou"] - max(reported)) < 1e-9
