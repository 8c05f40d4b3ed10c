"""Before any training, the Label page's model assistance uses the base model adapted to the project's tiles
(BatchNorm statistics only, no labels): it says so, and the adapted model file is made on the first press."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgssl_core.catalog import Project
from pgssl_core.models import ModelConfig, create_model, save_model
from pgssl_core.project.active_model import set_active_model
from pgssl_core.project.adapted_model import MODELS_DIR
from tests.app.label.test_label_apptest import FakeCanvas, button, demo, open_label_page


def test_prefill_uses_the_base_model_adapted_to_the_tiles(projects_env: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pgssl_core.project.adapted_model.PROJECT_CROPS", 8)  # keeps the CPU test short
    at = open_label_page(FakeCanvas())
    tile_id = at.query_params["tile"]
    assert any("adapted to your tiles (BatchNorm statistics only, no labels" in i.value for i in at.info)
    folder = projects_env / "beijing-demo" / MODELS_DIR
    assert not folder.exists()  # nothing made until the model is used
    button(at, "label_prefill").click().run()
    assert not at.exception, at.exception
    made = sorted(folder.glob("base_adapted_*.pt"))
    assert len(made) == 1
    with demo(projects_env) as project:
        mask, version = project.load_label(tile_id)
    assert version == 1 and set(np.unique(mask)) <= {0, 1}  # pre-filled by the adapted model
    mtime = made[0].stat().st_mtime_ns
    button(at, "label_rank").click().run()  # the same tiles: the same file, not made again
    assert not at.exception, at.exception
    assert sorted(folder.glob("base_adapted_*.pt")) == made and made[0].stat().st_mtime_ns == mtime


def test_a_project_model_is_not_replaced_by_the_adapted_base(projects_env: Path) -> None:
    config = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))
    with Project.open(projects_env / "beijing-demo") as project:
        save_model(project.root / "runs" / "tiny.pt", create_model(config), config)
        set_active_model(project, project.root / "runs" / "tiny.pt")
    at = open_label_page(FakeCanvas())
    assert not any("adapted to your tiles" in i.value for i in at.info)
