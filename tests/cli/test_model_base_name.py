"""``--model base`` in ``predict`` and ``evaluate`` names the shipped base building model, as ``--init base``
does in ``train``: a user can map or score their tiles before they have trained anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from pgssl_core.cli import main
from pgssl_core.shipped import ASSETS_DIR
from pgssl_core.tiles.georef import ungeoreferenced_ok

SAMPLE = ASSETS_DIR / "oam_sample"


def test_predict_with_model_base_writes_a_mask_on_the_input_grid(tmp_path: Path) -> None:
    tile = sorted((SAMPLE / "images").glob("*.png"))[0]
    assert main(["predict", "--model", "base", "--input", str(tile), "--out", str(tmp_path / "out"),
                 "--output", "mask", "--device", "cpu"]) == 0
    written = sorted((tmp_path / "out").glob("*.tif"))
    assert len(written) == 1
    with ungeoreferenced_ok(), rasterio.open(tile) as src, rasterio.open(written[0]) as out:
        assert (out.width, out.height) == (src.width, src.height)


def test_evaluate_with_model_base_scores_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--model", "base", "--images", str(SAMPLE / "images"),
                 "--masks", str(SAMPLE / "masks"), "--device", "cpu"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["tiles"] == len(list((SAMPLE / "images").glob("*.png")))
    assert 0.3 < figures["iou"] <= 1.0  # the base model finds buildings on the real OAM sample (test IoU 0.6)


def test_a_file_named_base_is_still_reachable_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the bare word means the shipped model: ``./base`` is a file path (here a missing one)."""
    code = main(["evaluate", "--model", "./base", "--images", str(SAMPLE / "images"),
                 "--masks", str(SAMPLE / "masks"), "--device", "cpu"])
    assert code != 0
    assert "base" in capsys.readouterr().err
