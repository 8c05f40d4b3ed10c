"""Training edge cases: no labels, only background labels, a tile with NaN pixels, a diverging learning rate.
A clear message each time, and ``best.pt`` is never replaced by a broken model."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.catalog import Project, import_file
from pgssl_core.errors import PgsslError
from pgssl_core.models import load_model
from pgssl_core.project.data_plan import plan_project_data, training_data_from_project
from pgssl_core.train import TrainConfig, TrainingData, make_sample, run_training
from pgssl_core.train.loop import TrainingError
from pgssl_core.train.progress import read_metrics

from .conftest import write_geotiff

pytestmark = pytest.mark.reliability


def _samples(n: int, seed: int = 0, building: bool = True) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        image = rng.integers(0, 70, (48, 48, 3), dtype=np.uint8)
        mask = np.zeros((48, 48), np.uint8)
        y, x = rng.integers(0, 30, 2)
        image[y:y + 14, x:x + 14] = 200
        if building:
            mask[y:y + 14, x:x + 14] = 1
        out.append(make_sample(image, mask))
    return out


def _all_finite(path: Path) -> bool:
    model, _, _ = load_model(path)
    return all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())


def _val_ious(run: Path) -> list[float]:
    return [e["val"]["iou"] for e in read_metrics(run / "metrics.jsonl") if e.get("kind") == "val"]


def test_no_labels_is_a_clear_message(small_project) -> None:
    root, _ = small_project
    with pytest.raises(PgsslError, match="no labelled tiles"):
        TrainingData([], _samples(2), [])
    with Project.open(root) as project, pytest.raises(PgsslError) as info:
        plan_project_data(project)  # the Train page shows this and keeps its button disabled
    assert "label at least" in str(info.value) and "\n" not in str(info.value)


def test_only_background_labels_say_so(small_project) -> None:
    root, ids = small_project
    with Project.open(root) as project:
        for tile_id in ids[:2]:
            project.save_label(tile_id, np.zeros((64, 64), np.uint8), 0, complete=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                plan_project_data(project)
                raised = []
            except PgsslError as exc:
                raised = [str(exc)]
    messages = [str(w.message) for w in caught] + raised
    assert any("building" in m for m in messages), messages


@pytest.mark.slow
def test_tile_with_nan_pixels_trains_with_finite_losses(tmp_path: Path) -> None:
    root = tmp_path / "project"
    with Project.create(root, "nan") as project:
        ids = [import_file(project, write_geotiff(tmp_path / f"t{i}.tif", size=64, seed=i, dtype="float32",
                                                 nan_block=(i == 0))).tile_ids[0] for i in range(3)]
        record = project.tile(ids[0])
        assert record.nodata_fraction == pytest.approx(1 / 16)  # the NaN square is no-data, not black pixels
        for tile_id in ids:
            mask = np.zeros((64, 64), np.uint8)
            mask[20:40, 20:40] = 1
            project.save_label(tile_id, mask, 0, complete=True)
        data = training_data_from_project(project)
    first = next(s for s in data.labelled + data.val if (np.asarray(s["mask"]) == 255).any())
    assert np.isfinite(np.asarray(first["image"], dtype=np.float32)).all()
    assert (np.asarray(first["mask"])[:16, :16] == 255).all()  # no-data pixels are never a label
    run = tmp_path / "run"
    config = TrainConfig(method="supervised", profile="test", device="cpu", init="scratch",
                         profile_overrides={"supervised_steps": 4})
    run_training(data, config, run)
    events = read_metrics(run / "metrics.jsonl")
    losses = [v for e in events if e.get("kind") == "step" for v in (e.get("losses") or {}).values() if v is not None]
    assert losses and all(math.isfinite(v) for v in losses)
    assert not any("non-finite" in str(e.get("message", "")) for e in events)
    assert _all_finite(run / "model.pt")


@pytest.mark.slow
def test_diverging_fine_tune_never_replaces_best_with_a_broken_model(tmp_path: Path) -> None:
    """The teacher trains at a normal rate; the fine-tune at 1e6. Whatever the fine-tune does, the run ends with
    a clear message or a result, and ``best.pt`` is finite and the best evaluation of the run."""
    data = TrainingData(_samples(3, 0), _samples(3, 1), _samples(2, 2))
    config = TrainConfig(method="pgssl", profile="test", device="cpu", init="scratch", rounds=1,
                         profile_overrides={"finetune_lr": 1e6, "teacher_steps": 2, "pretrain_steps": 2})
    run = tmp_path / "run"
    events: list[dict] = []
    try:
        run_training(data, config, run, progress=events.append)
        outcome = "finished"
    except TrainingError as exc:
        assert "\n" not in str(exc) and "lower the learning rate" in str(exc)
        assert "best model so far was kept" in str(exc)
        outcome = "stopped"
    skipped = [e for e in events if "non-finite" in str(e.get("message", ""))]
    assert outcome == "stopped" or skipped or _all_finite(run / "model.pt")  # a message whenever steps went bad
    assert (run / "best.pt").is_file() and _all_finite(run / "best.pt")
    _, _, meta = load_model(run / "best.pt")
    assert meta["val"]["iou"] == pytest.approx(max(_val_ious(run)))
    print(f"diverging fine-tune: {outcome}, {len(skipped)} steps skipped as non-finite")
