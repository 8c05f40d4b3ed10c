"""A tiny project with the whole chain a report reads: reference masks, a pgssl run (test profile), its
supervised baseline and comparison, and a finished prediction of every tile with the run's model."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pgssl_core.catalog import Project
from tests.project.conftest import labelled_tile

N_TILES, N_LABELLED = 7, 3


def build_reference_project(root: Path) -> Path:
    """Tiles with reference masks, the first ``N_LABELLED`` labelled; no run (seconds to build)."""
    with Project.create(root, "Report test") as project:
        for i in range(N_TILES):
            tile, mask = labelled_tile(i, size=32)
            tile_id = project.add_tile(tile, f"t{i}.tif", reference_mask=mask)
            if i < N_LABELLED:
                project.save_label(tile_id, mask, 0, complete=True)
    return root


def build_report_project(root: Path, with_baseline: bool = True) -> Path:
    """Create the project under ``root`` and return its folder (see the module doc)."""
    from pgssl_core.project.active_model import set_active_model
    from pgssl_core.project.baseline_compare import compare_with_baseline, train_baseline
    from pgssl_core.project.data_plan import load_plan, plan_project_data
    from pgssl_core.project.predict import predict_project
    from pgssl_core.train import TrainConfig, run_model_path, run_training

    build_reference_project(root)
    with Project.open(root) as project:
        plan = plan_project_data(project, seed=0)
        config = TrainConfig(method="pgssl", profile="test", device="cpu", rounds=1,
                             profile_overrides={"teacher_steps": 4, "pretrain_steps": 2, "finetune_steps": 3})
        if "init" in {f.name for f in fields(TrainConfig)}:  # no shipped base model in unit tests
            config = TrainConfig(**{**config.to_dict(), "init": "scratch"})
        run_id, run_dir = project.create_run("train", {"method": "pgssl", "profile": "test", "seed": 0})
        data = load_plan(project, plan)
        run_training(data, config, run_dir)
        project.update_run(run_id, "done")
        if with_baseline:
            train_baseline(data, run_dir)
            compare_with_baseline(run_dir, data.val)
        model = run_model_path(run_dir)
        predict_id, predict_dir = project.create_run("predict", {"model": str(model)})
        predict_project(project, model, predict_dir, threshold=0.5)
        project.update_run(predict_id, "done")
        set_active_model(project, Path(model))
    return root


@pytest.fixture(scope="module")
def report_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_project(tmp_path_factory.mktemp("report") / "project")


@pytest.fixture(scope="module")
def reference_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_reference_project(tmp_path_factory.mktemp("reference") / "project")
