"""Predicting a plain image (no georeference) shows our own warning, not rasterio's NotGeoreferencedWarning
(found by a fresh-eyes QA run: GDAL's "Dataset has no geotransform ... identity matrix" line was printed for
every PNG/JPEG input although the CLI already says the input has no georeference)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning

from pgssl_core.infer import predict_raster
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.models.init_model import BASE_MODEL_PATH
from pgssl_core.tiles import read_tile
from pgssl_core.tiles.georef import ungeoreferenced_ok
from pgssl_core.tiles.gsd import UnresolvedGsdWarning
from tests.infer.conftest import random_image

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stated_gsd_m", [None, 0.5])  # native resolution, and resampled to the working GSD
@pytest.mark.parametrize("cog", [False, True])
def test_plain_image_prediction_raises_no_library_georef_warning(tmp_path: Path, tiny_model, stated_gsd_m,
                                                                  cog: bool) -> None:
    model, config = tiny_model
    path = tmp_path / "plain.png"
    Image.fromarray(random_image(96, 80)).save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = predict_raster(model, config, read_tile(path), tmp_path / "out.tif",
                                 PredictSettings(window=64, overlap=16, cog=cog, device="cpu", gsd_m=0.3,
                                                 stated_gsd_m=stated_gsd_m))
    categories = {w.category for w in caught}
    assert NotGeoreferencedWarning not in categories
    assert (UnresolvedGsdWarning in categories) == (stated_gsd_m is None)  # our own warning still comes
    assert (summary.width, summary.height) == (80, 96) and (tmp_path / "out.tif").is_file()


def test_the_filter_is_precise() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ungeoreferenced_ok():
            warnings.warn("no geotransform", NotGeoreferencedWarning, stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
        warnings.warn("no geotransform again", NotGeoreferencedWarning, stacklevel=1)  # outside: shown
    assert [str(w.message) for w in caught] == ["something else", "no geotransform again"]


def test_cli_predict_of_a_png_prints_only_our_warning(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.fromarray(np.asarray(random_image(64, 64))).save(path)
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "predict", "--model", str(BASE_MODEL_PATH), "--input",
                           str(path), "--out", str(tmp_path / "out"), "--device", "cpu"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-800:]
    assert "warning: the input has no georeference" in proc.stderr
    assert "NotGeoreferencedWarning" not in proc.stderr and "identity matrix" not in proc.stderr
