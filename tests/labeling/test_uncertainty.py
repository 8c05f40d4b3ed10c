"""Entropy scores and the "label these next" ranking (with a small random U-Net from a model file)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.catalog import Project
from pgssl_core.infer import predict_tile
from pgssl_core.labeling import (
    binary_entropy,
    label_these_next,
    mean_binary_entropy,
    prediction_to_labels,
    rank_by_uncertainty,
    unlabelled_tile_ids,
)
from pgssl_core.models import ModelConfig, create_model, load_model, save_model


def test_binary_entropy_in_bits() -> None:
    values = binary_entropy(np.array([0.0, 0.5, 1.0, 0.1]))
    np.testing.assert_allclose(values[:3], [0.0, 1.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(values[3], -(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9)))


def test_mean_entropy_over_valid_pixels_only() -> None:
    prob = np.array([[0.5, 0.5], [0.0, 1.0]], np.float32)
    assert mean_binary_entropy(prob) == pytest.approx(0.5, abs=1e-4)
    valid = np.array([[True, True], [False, False]])
    assert mean_binary_entropy(prob, valid) == pytest.approx(1.0, abs=1e-4)
    assert mean_binary_entropy(prob, np.zeros((2, 2), bool)) == 0.0


def test_rank_most_uncertain_first_with_deterministic_ties() -> None:
    scores = {"c": 0.2, "a": 0.9, "b": 0.2, "d": 0.5}
    assert rank_by_uncertainty(scores) == [("a", 0.9), ("d", 0.5), ("b", 0.2), ("c", 0.2)]
    assert rank_by_uncertainty(scores, limit=2) == [("a", 0.9), ("d", 0.5)]


def test_prediction_to_labels() -> None:
    prob = np.array([[0.2, 0.5, 0.9]], np.float32)
    np.testing.assert_array_equal(prediction_to_labels(prob), [[0, 1, 1]])
    np.testing.assert_array_equal(prediction_to_labels(prob, valid=np.array([[True, False, True]])), [[0, 255, 1]])


def _label_first_tile(project: Project) -> str:
    tile_id = project.tiles()[0].id
    mask = np.full((64, 48), 255, np.uint8)
    mask[:4, :4] = 1
    project.save_label(tile_id, mask, 0)
    return tile_id


def test_ranking_with_a_fake_predictor_orders_by_entropy(small_project: Project) -> None:
    labelled = _label_first_tile(small_project)
    records = small_project.tiles()
    # a predictor whose confidence depends on the tile: tile 2 is the most uncertain (p = 0.5)
    levels = {records[1].id: 0.95, records[2].id: 0.5}
    images = {small_project.read(r.id).image.tobytes(): r.id for r in records}

    def predict(model, config, image, source_gsd_m=None):
        return np.full(image.shape[:2], levels[images[image.tobytes()]], np.float32)

    seen = []
    ranked = label_these_next(small_project, None, None, predict, progress=lambda d, t: seen.append((d, t)))
    assert [r.tile_id for r in ranked] == [records[2].id, records[1].id]
    assert labelled not in [r.tile_id for r in ranked]
    assert ranked[0].score == pytest.approx(1.0, abs=1e-4) and ranked[0].name == records[2].original_name
    assert seen == [(1, 2), (2, 2)]


def test_ranking_with_a_small_random_model_file(small_project: Project, tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))
    path = tmp_path / "tiny.pt"
    save_model(path, create_model(config), config, {"method": "random"})
    model, loaded_config, _meta = load_model(path)

    labelled = _label_first_tile(small_project)
    assert labelled not in unlabelled_tile_ids(small_project)
    ranked = label_these_next(small_project, model, loaded_config, predict_tile, limit=5)
    assert len(ranked) == 2 and labelled not in {r.tile_id for r in ranked}
    assert ranked[0].score >= ranked[1].score
    for item in ranked:  # each score is the mean entropy of that tile's own prediction
        prob = predict_tile(model, loaded_config, small_project.read(item.tile_id).image)
        assert prob.shape == (64, 48)
        assert item.score == pytest.approx(mean_binary_entropy(prob), rel=1e-5)
        assert 0.0 < item.score <= 1.0
    assert label_these_next(small_project, model, loaded_config, predict_tile, limit=1)[0] == ranked[0]
