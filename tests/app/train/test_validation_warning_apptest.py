"""The Train page warns when a run's validation is too little to judge a model by (issue 16, item 5)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from tests.app.main_script import MAIN
from tests.project.conftest import labelled_tile, stroked_label


def test_train_page_warns_when_validation_is_too_small(projects_env: Path) -> None:
    with Project.create(projects_env / "mine", "Mine") as project:
        for i in range(3):
            tile, mask = labelled_tile(i, size=64)
            tile_id = project.add_tile(tile, f"t{i}.tif")
            project.save_label(tile_id, stroked_label(mask), 0)
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = "mine"
    at.run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    # scribbled validation: the score is called what it is, never the model's accuracy (issue 21)
    warning = next(w.value for w in at.warning if "Validation on strokes only" in w.value)
    assert "agreement with your strokes on 1 tile (not an accuracy)" in warning
    assert "1 tile (0 fully labelled)" in warning and "labelled pixels" in warning
