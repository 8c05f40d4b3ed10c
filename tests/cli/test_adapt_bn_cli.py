"""``--adapt-bn`` in ``predict`` and ``evaluate``: the model's BatchNorm statistics re-estimated on the inputs
(zero-label adaptation), said in one line; the model file is not changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rasterio

from pgssl_core.cli import main
from pgssl_core.shipped import ASSETS_DIR, BASE_MODEL_PATH
from pgssl_core.tiles.georef import ungeoreferenced_ok

SAMPLE = ASSETS_DIR / "oam_sample"


def _digest() -> str:
    return hashlib.sha256(BASE_MODEL_PATH.read_bytes()).hexdigest()


def test_evaluate_adapt_bn_says_so_and_scores(capsys: pytest.CaptureFixture[str]) -> None:
    before = _digest()
    args = ["evaluate", "--model", "base", "--images", str(SAMPLE / "images"), "--masks", str(SAMPLE / "masks"),
            "--device", "cpu", "--limit", "12"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*args, "--adapt-bn"]) == 0
    out = capsys.readouterr()
    adapted = json.loads(out.out.strip().splitlines()[-1])
    assert adapted["adapt_bn"] is True and "adapt_bn" not in plain and adapted["tiles"] == plain["tiles"] == 12
    assert "BatchNorm statistics re-estimated on the 12 evaluated images, weight 0.75" in out.err
    assert "no labels used" in out.err
    assert adapted["iou"] != plain["iou"]  # the statistics moved
    assert adapted["iou"] > 0.3  # and the adapted model still finds the sample's buildings
    assert _digest() == before


def test_predict_adapt_bn_writes_on_the_input_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiles = sorted((SAMPLE / "images").glob("*.png"))[:2]
    listing = tmp_path / "inputs.txt"
    listing.write_text("\n".join(str(t) for t in tiles) + "\n")
    assert main(["predict", "--model", "base", "--input", str(listing), "--out", str(tmp_path / "out"),
                 "--output", "mask", "--device", "cpu", "--adapt-bn"]) == 0
    assert "note: --adapt-bn: BatchNorm statistics re-estimated on" in capsys.readouterr().err
    written = sorted((tmp_path / "out").glob("*.tif"))
    assert len(written) == 2
    with ungeoreferenced_ok(), rasterio.open(tiles[0]) as src, rasterio.open(written[0]) as out:
        assert (out.width, out.height) == (src.width, src.height)
