"""The app's "Predict all tiles" and the ``predict`` command take the same pipeline: the same tile gives the same
mask bytes through both (``infer.pipeline.predict_file``; sparse tiles by their data regions in both)."""

from __future__ import annotations

from pgssl_core.catalog import Project
from pgssl_core.cli import main
from pgssl_core.project.predict import predict_project


def test_project_masks_are_the_predict_commands_masks(small_project: Project, tiny_model_file, tmp_path) -> None:
    maps = predict_project(small_project, tiny_model_file, tmp_path / "app")
    tile_id = maps.manifest["tile_ids"][0]
    src = small_project.tile_path(tile_id)
    assert main(["predict", "--model", str(tiny_model_file), "--input", str(src), "--out", str(tmp_path / "cli"),
                 "--output", "mask", "--device", "cpu"]) == 0
    assert (tmp_path / "cli" / f"{src.stem}_mask.tif").read_bytes() == maps.mask(tile_id).read_bytes()
