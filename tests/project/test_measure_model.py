"""A model measured on labelled tiles: per-tile building counts, ignored pixels left out."""

from __future__ import annotations

import numpy as np

from pgssl_core.project.measure_model import tile_confusions


def test_tile_confusions_count_the_masks_pixels(tmp_path):
    from pgssl_core.models import create_model, save_model
    from pgssl_core.train import get_profile
    from pgssl_core.train.data import make_sample
    from pgssl_core.train.rounds import model_config

    config = model_config(get_profile("test"), 3)
    model_path = tmp_path / "model.pt"
    save_model(model_path, create_model(config).eval(), config, {})
    rng = np.random.default_rng(0)
    samples = []
    for i in range(2):
        mask = np.zeros((40, 40), np.uint8)
        mask[5:20, 8:30] = 1
        mask[0, :] = 255  # ignored pixels do not count
        samples.append(make_sample(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), mask, name=f"t{i}"))
    counts = tile_confusions(model_path, samples)
    assert [c.tile for c in counts] == ["t0", "t1"]
    for c in counts:
        assert c.tp + c.fn == 15 * 22  # reference building pixels, whatever the model predicts
        assert 0 <= c.tp + c.fp <= 39 * 40
