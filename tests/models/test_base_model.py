"""The shipped base building model: loads safely, matches its card, and is accurate on real tiles."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import torch

from pgssl_core.models import load_model
from pgssl_core.models.init_model import BASE_MODEL_PATH
from pgssl_core.train.data import TensorSet, load_folder
from pgssl_core.train.metrics import evaluate_tensors

CARD = BASE_MODEL_PATH.parent / "README.md"
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oam_buildings"
#: Accuracy floor on 20 seeded OAM test tiles: the card's measured IoU on those tiles minus a margin
#: for float/BLAS differences between machines (see the card's "Test in the suite" line).
IOU_FLOOR = 0.56
KATHMANDU = DATA.parent / "kathmandu_oam"
#: Floor on 20 seeded ``kathmandu_oam`` tiles, a place the model never saw: measured 0.277 (precision 0.57, recall
#: 0.35) on this project's CPU for the shipped model, minus 0.03 for float/BLAS differences. A new base model must
#: not do worse on a new place than this one.
KATHMANDU_IOU_FLOOR = 0.247


def test_loads_with_weights_only_and_keeps_its_working_gsd() -> None:
    data = torch.load(BASE_MODEL_PATH, map_location="cpu", weights_only=True)  # no code can run
    assert data["format"] == "pgssl-model/1"
    model, config, meta = load_model(BASE_MODEL_PATH)
    assert config.gsd_m == pytest.approx(0.3) and config.in_channels == 3
    assert next(model.parameters()).dtype == torch.float32  # float16 storage is cast back on load
    assert BASE_MODEL_PATH.stat().st_size < 40e6


def test_card_hash_matches_the_file() -> None:
    card = CARD.read_text(encoding="utf-8")
    match = re.search(r"SHA-256[^`]*`([0-9a-f]{64})`", card)
    assert match, "the model card states the file's SHA-256"
    assert hashlib.sha256(BASE_MODEL_PATH.read_bytes()).hexdigest() == match.group(1)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared OAM tiles are not next to the repository")
def test_accuracy_on_20_shared_test_tiles_is_above_the_floor() -> None:
    model, config, _ = load_model(BASE_MODEL_PATH)
    samples = load_folder(DATA / "images", DATA / "masks", DATA / "manifest.csv", "test", limit=20, seed=0,
                          working_gsd_m=config.gsd_m)
    figures = evaluate_tensors(model, config, TensorSet.from_samples(samples), torch.device("cpu"))
    assert figures["tiles"] == 20
    assert figures["iou"] > IOU_FLOOR, figures


@pytest.mark.skipif(not KATHMANDU.is_dir(), reason="the shared Kathmandu tiles are not next to the repository")
def test_accuracy_on_20_tiles_of_a_new_place_is_above_its_floor() -> None:
    model, config, _ = load_model(BASE_MODEL_PATH)
    samples = load_folder(KATHMANDU / "images", KATHMANDU / "masks", KATHMANDU / "manifest.csv", limit=20, seed=0,
                          working_gsd_m=config.gsd_m)
    figures = evaluate_tensors(model, config, TensorSet.from_samples(samples), torch.device("cpu"))
    assert figures["tiles"] == 20
    assert figures["iou"] > KATHMANDU_IOU_FLOOR, figures
