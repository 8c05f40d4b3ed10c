"""Prediction at the model's working GSD: inputs are resampled on read and the output lies on the
source grid (same CRS, transform and size)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from torch import nn

from pgssl_core.infer import predict_raster
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.infer.working_grid import target_gsd, working_grid
from pgssl_core.models import ModelConfig
from pgssl_core.tiles import open_raster
from pgssl_core.tiles.gsd import CoarseGsdWarning, GsdError, UnresolvedGsdWarning, ground_gsd_m, resample_image

CRS_UTM50 = "EPSG:32650"


class RedIsBuilding(nn.Module):
    """Logits that make p(building) high where the red band is bright: a network whose answer at each
    pixel depends only on that pixel, so any shift or scale error of the grids shows in the output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, 2, H, W)
        return torch.stack([torch.zeros_like(x[:, 0]), 8.0 * x[:, 0]], dim=1)


def _config(gsd_m: float | None) -> ModelConfig:
    return ModelConfig(encoder_depth=3, decoder_channels=(8, 8, 8), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                       gsd_m=gsd_m)


def _square_geotiff(path: Path, gsd: float, size: int = 400, square: tuple[int, int, int, int] = (100, 220, 140, 300),
                    crs: str | None = CRS_UTM50) -> Path:
    img = np.full((3, size, size), 40, np.uint8)
    r0, r1, c0, c1 = square
    img[0, r0:r1, c0:c1] = 230
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8")
    if crs is not None:
        profile.update(crs=crs, transform=from_origin(440000.0, 4420000.0, gsd, gsd))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(img)
    return path


def test_ground_gsd_of_utm_and_web_mercator() -> None:
    assert ground_gsd_m(from_origin(440000, 4420000, 0.15, 0.15), rasterio.crs.CRS.from_epsg(32650), 10, 10) == \
        pytest.approx(0.15, rel=2e-3)  # UTM's scale factor is within 0.1% near the zone centre
    # Web Mercator's nominal 0.2986 m at zoom 19 is cos(lat) of that on the ground (~1/2 at 60 deg N).
    from pgssl_core.tiles.georef import xyz_transform

    lat = np.radians(60.0)
    z, x = 19, 262144
    y = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * 2**z)  # the tile row at 60 deg N
    g = ground_gsd_m(xyz_transform(z, x, y, 256, 256), rasterio.crs.CRS.from_epsg(3857), 256, 256)
    assert g == pytest.approx(0.2986 * np.cos(np.radians(60)), rel=0.02)


def test_015m_geotiff_at_03m_working_gsd_comes_back_on_the_015m_grid(tmp_path: Path) -> None:
    src = _square_geotiff(tmp_path / "fine.tif", 0.15)
    with open_raster(src) as source:
        grid = working_grid(source, 0.3)
    assert grid is not None and (grid.width, grid.height) == (200, 200)
    out = predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "pred.tif",
                         PredictSettings(window=64, overlap=16, output="mask"))
    with rasterio.open(src) as a, rasterio.open(out.path) as b:
        assert (b.width, b.height) == (a.width, a.height)
        assert b.crs == a.crs and b.transform == a.transform
        mask = b.read(1)
        assert b.tags()["pgssl_gsd_m"] == "0.3"
    truth = np.zeros_like(mask)
    truth[100:220, 140:300] = 1
    # The square comes back where it was: at most a one-working-pixel (2 source px) rim differs.
    assert abs(int(mask.sum()) - int(truth.sum())) <= 2 * (120 + 160) * 2
    inter = np.logical_and(mask == 1, truth == 1).sum()
    union = np.logical_or(mask == 1, truth == 1).sum()
    assert inter / union > 0.95
    assert out.building_pixels == int((mask == 1).sum())


def test_native_gsd_model_and_same_gsd_source_skip_resampling(tmp_path: Path) -> None:
    src = _square_geotiff(tmp_path / "native.tif", 0.3)
    with open_raster(src) as source:
        assert working_grid(source, 0.3) is None  # already at the working GSD
        assert working_grid(source, None) is None  # a model of unknown GSD predicts at native resolution
    a = predict_raster(RedIsBuilding(), _config(None), src, tmp_path / "a.tif", PredictSettings(window=64, overlap=16))
    b = predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "b.tif", PredictSettings(window=64, overlap=16))
    with rasterio.open(a.path) as da, rasterio.open(b.path) as db:
        assert np.array_equal(da.read(1), db.read(1))


def test_no_georeference_and_no_stated_gsd_stays_native_with_a_warning(tmp_path: Path) -> None:
    src = _square_geotiff(tmp_path / "plain.tif", 0.15, crs=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "p.tif",
                             PredictSettings(window=64, overlap=16, output="mask"))
    assert any(issubclass(w.category, UnresolvedGsdWarning) and "native resolution" in str(w.message)
               for w in caught)
    with rasterio.open(out.path) as ds:
        assert (ds.width, ds.height) == (400, 400)
        assert "pgssl_gsd_m" not in ds.tags()


def test_no_georeference_with_a_stated_gsd_is_resampled(tmp_path: Path) -> None:
    src = _square_geotiff(tmp_path / "plain.tif", 0.15, crs=None)
    out = predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "p.tif",
                         PredictSettings(window=64, overlap=16, output="mask", stated_gsd_m=0.15))
    with rasterio.open(out.path) as ds:
        mask = ds.read(1)
        assert (ds.width, ds.height) == (400, 400) and ds.tags()["pgssl_gsd_m"] == "0.3"
    assert abs(int((mask == 1).sum()) - 120 * 160) < 0.1 * 120 * 160


def test_cli_says_in_one_line_when_an_input_stays_native(tmp_path: Path) -> None:
    import subprocess
    import sys

    from pgssl_core.models.init_model import BASE_MODEL_PATH

    src = _square_geotiff(tmp_path / "plain.tif", 0.15, size=64, square=(10, 30, 10, 30), crs=None)
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "predict", "--model", str(BASE_MODEL_PATH), "--input",
                           str(src), "--out", str(tmp_path / "out")], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1000:]
    lines = [line for line in proc.stderr.replace("\r", "\n").splitlines() if "native resolution" in line]
    assert len(lines) == 1 and "warning: plain.tif has no georeference" in lines[0]
    assert "UnresolvedGsdWarning" not in proc.stderr


def test_a_working_gsd_far_coarser_than_the_raster_warns_instead_of_an_empty_mask_in_silence(tmp_path: Path) -> None:
    # 400 px at 0.15 m = 60 m of ground; at 100 m per pixel that is one pixel: the mask can only be empty.
    src = _square_geotiff(tmp_path / "fine.tif", 0.15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = predict_raster(RedIsBuilding(), _config(100.0), src, tmp_path / "p.tif",
                             PredictSettings(window=64, overlap=16, output="mask"))
    coarse = [w for w in caught if issubclass(w.category, CoarseGsdWarning)]
    assert len(coarse) == 1 and "fine.tif is only 1 x 1 px" in str(coarse[0].message)
    with rasterio.open(out.path) as ds:
        assert (ds.width, ds.height) == (400, 400)


def test_a_reasonable_working_gsd_gives_no_coarse_warning(tmp_path: Path) -> None:
    src = _square_geotiff(tmp_path / "fine.tif", 0.15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "p.tif",
                       PredictSettings(window=64, overlap=16, output="mask"))
    assert not [w for w in caught if issubclass(w.category, CoarseGsdWarning)]


@pytest.mark.parametrize(("source_gsd", "warns"), [(1.0, False), (3.0, True)])
def test_a_source_far_coarser_than_the_working_gsd_warns(tmp_path: Path, source_gsd: float, warns: bool) -> None:
    """3 m imagery read at 0.3 m is 10x upsampled blur the model never saw (found by a fresh-eyes QA run: no word
    was said); 1 m is within the training views' range (up to 3.3x coarser) and stays quiet."""
    src = _square_geotiff(tmp_path / "coarse.tif", source_gsd)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predict_raster(RedIsBuilding(), _config(0.3), src, tmp_path / "p.tif",
                       PredictSettings(window=64, overlap=16, output="mask"))
    coarse = [str(w.message) for w in caught if issubclass(w.category, CoarseGsdWarning)]
    if warns:
        assert len(coarse) == 1 and "coarse.tif is at 3 m per pixel, 10.0x coarser" in coarse[0], coarse
    else:
        assert not coarse, coarse


def test_a_tile_shrunk_below_the_model_minimum_warns() -> None:
    image = np.zeros((256, 256, 3), np.uint8)
    with pytest.warns(CoarseGsdWarning, match=r"only 8 x 8 px"):  # 256 px x 0.3 m / 10 m = 7.68 -> 8 px
        out = resample_image(image, 0.3, 10.0)
    assert out.shape == (8, 8, 3)
    assert min(resample_image(image, 0.3, 0.6).shape[:2]) == 128  # 2x coarser: fine, no warning needed


def test_target_gsd_takes_the_models_own_for_model_and_refuses_other_text() -> None:
    assert target_gsd("model", 0.3) == 0.3
    assert target_gsd("model", None) is None  # a model without a working GSD predicts at the source's own
    assert target_gsd(0.5, 0.3) == 0.5 and target_gsd(None, 0.3) is None
    with pytest.raises(GsdError, match="'native'"):
        target_gsd("native", 0.3)
