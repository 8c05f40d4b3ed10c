"""Each method end to end on tiny tiles; NaN safety of the best model; evaluate vs a hand count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pgssl_core.models import load_model
from pgssl_core.train import TrainingError, plan, run_training
from pgssl_core.train.losses import WeightedSegLoss
from pgssl_core.train.metrics import Confusion
from pgssl_core.train.progress import read_metrics

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method,confidence", [("pgssl", True), ("supervised", True), ("byol", True),
                                               ("inpaint", True), ("pgssl", False)])
def test_each_method_runs_end_to_end(tmp_path, tiny_data, make_config, method, confidence):
    config = make_config(method)
    config.confidence_weighting = confidence
    events = []
    result = run_training(tiny_data, config, tmp_path / "run", progress=events.append)
    model, mcfg, meta = load_model(result.model_path)
    assert meta["method"] == method
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 48, 48)).shape == (1, 2, 48, 48)
    stages = [(r, s) for r, s, _ in plan(method, config.resolved_profile())]
    done = {(e["round"], e["stage"]) for e in events if e["kind"] == "step" and e["step"] == e["total"]}
    assert done == set(stages)
    assert result.best_path is not None and result.best_path.is_file()
    assert result.final_val is not None and 0 <= result.final_val["iou"] <= 1
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")
    step = next(e for e in logged if e["kind"] == "step")
    assert {"stage", "round", "step", "total", "losses", "lr", "images_per_s", "eta_s"} <= set(step)
    assert any(e["kind"] == "val" and "f1" in e["val"] for e in logged)
    if method == "pgssl":
        pre = next(e for e in logged if e["kind"] == "step" and e["stage"] == "pretrain")
        assert {"seg", "byol", "inpaint"} <= set(pre["losses"])
    assert (tmp_path / "run" / "config.json").is_file()


def test_two_rounds_keep_per_round_validation(tmp_path, tiny_data, make_config):
    result = run_training(tiny_data, make_config("pgssl", rounds=2, task_schedule="alternate", teacher_steps=2,
                                                      pretrain_steps=3, finetune_steps=2), tmp_path / "r")
    finetunes = {h["round"] for h in result.history if h["stage"] == "finetune"}
    assert finetunes == {1, 2}
    # Each round leaves the best-so-far model; round 1's can only be as good as the whole run's.
    _, _, best_meta = load_model(tmp_path / "r" / "best.pt")
    _, _, r1_meta = load_model(tmp_path / "r" / "stages" / "r1-best.pt")
    assert (tmp_path / "r" / "stages" / "r2-best.pt").read_bytes() == (tmp_path / "r" / "best.pt").read_bytes()
    assert r1_meta["round"] == 1 and r1_meta["val"]["iou"] <= best_meta["val"]["iou"]
    assert result.best_val["iou"] == best_meta["val"]["iou"] == max(h["iou"] for h in result.history)
    assert (result.best_val["stage"], result.best_val["round"]) == (best_meta["stage"], best_meta["round"])


def test_nan_loss_never_replaces_best_model(tmp_path, tiny_data, make_config, monkeypatch):
    """Teacher trains normally (best.pt written); from the fine-tune on every loss is NaN: steps are
    skipped, the run stops with a clear message and best.pt is byte-identical."""
    real_forward = WeightedSegLoss.forward
    state = {"poison": False}

    def forward(self, logits, target, weight=None):
        loss = real_forward(self, logits, target, weight)
        return loss * float("nan") if state["poison"] else loss

    monkeypatch.setattr(WeightedSegLoss, "forward", forward)
    out = tmp_path / "run"

    def progress(event):
        if event["kind"] == "stage" and event["stage"] == "finetune":
            state["poison"] = True

    config = make_config("pgssl", finetune_steps=10, max_nonfinite=3)
    with pytest.raises(TrainingError, match="not finite for 3 steps"):
        run_training(tiny_data, config, out, progress=progress)
    best_bytes = (out / "best.pt").read_bytes()
    _, _, meta = load_model(out / "best.pt")
    assert meta["stage"] == "teacher"
    assert not (out / "model.pt").exists()
    skipped = [e for e in read_metrics(out / "metrics.jsonl") if e["kind"] == "info" and "non-finite" in
               e.get("message", "")]
    assert len(skipped) == 3
    assert (out / "best.pt").read_bytes() == best_bytes


def test_confusion_matches_hand_count():
    pred = np.array([[1, 1, 0], [0, 1, 0]])
    mask = np.array([[1, 0, 0], [255, 1, 1]])
    c = Confusion()
    c.add(pred, mask)  # valid: 5 px; tp=2 (0,0),(1,1); fp=1 (0,1); fn=1 (1,2); tn=1
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 1)
    f = c.figures()
    assert f["iou"] == 0.5 and f["precision"] == 2 / 3 and f["recall"] == 2 / 3 and abs(f["f1"] - 2 / 3) < 1e-12


def test_evaluate_cli_matches_hand_computed_iou(tmp_path, tiny_data, make_config, tile_folders):
    result = run_training(tiny_data, make_config("supervised"), tmp_path / "run")
    images, masks = tile_folders
    (masks / "t0.png").write_bytes((masks / "t0.png").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "evaluate", "--model", str(result.model_path),
                           "--images", str(images), "--masks", str(masks), "--device", "cpu"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    # hand count: run the model ourselves, then count pixels with numpy
    import rasterio

    model, cfg, _ = load_model(result.model_path)
    tp = fp = fn = 0
    for tif in sorted(images.glob("*.tif")):
        with rasterio.open(tif) as src:
            img = src.read().astype(np.float32) / 255.0
        x = (torch.from_numpy(img)[None] - torch.tensor(cfg.mean).view(1, 3, 1, 1)) / torch.tensor(cfg.std).view(
            1, 3, 1, 1)
        with torch.no_grad():
            pred = model(x).argmax(1)[0].numpy() == 1
        truth = np.asarray(Image.open(masks / (tif.stem + ".png"))) > 0
        tp += int((pred & truth).sum())
        fp += int((pred & ~truth).sum())
        fn += int((~pred & truth).sum())
    assert figures["tiles"] == 8
    assert abs(figures["iou"] - tp / (tp + fp + fn)) < 1e-9
    assert set(figures) >= {"iou", "f1", "precision", "recall", "tiles"}


def test_train_cli_refuses_to_overwrite_and_reports_errors(tmp_path, tile_folders):
    images, masks = tile_folders
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_bytes(b"x")
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "train", "--images", str(images), "--masks",
                           str(masks), "--profile", "test", "--device", "cpu", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "use --resume" in proc.stderr
