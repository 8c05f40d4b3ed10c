"""predict_tile / predict_raster: blending equals whole-image inference, nodata, odd sizes, outputs."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from pgssl_core.errors import PgsslError
from pgssl_core.infer import forward_probabilities, predict_raster, predict_tile
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.infer.windows import axis_windows, edge_weights
from pgssl_core.tiles.prediction_format import NODATA, PROB_SCALE


def whole_image_prob(model, config, image):
    """Reference: one forward pass over the whole image (no windows)."""
    return forward_probabilities(model, config, image[None])[0]


def test_tiled_equals_whole_image(tiny_model, make_raster):
    model, config = tiny_model
    _, image = make_raster(200, 168)
    reference = whole_image_prob(model, config, image)
    tiled = predict_tile(model, config, image, tile=64, overlap=32, batch_size=3)
    assert tiled.shape == image.shape[:2] and tiled.dtype == np.float32
    assert reference.std() > 0.05  # the comparison is not between two constant maps
    np.testing.assert_allclose(tiled, reference, atol=1e-5)


def test_blending_weights_partition_of_unity():
    starts, length = axis_windows(300, 64, 32, 8)
    total = np.zeros(300)
    for s in starts:
        total[s:s + length] += edge_weights(s, length, 300, 32)
    assert starts[-1] == 300 - 64
    assert total.min() > 0.5  # every pixel is covered by some weight
    # Before the end-aligned last window, windows overlap by exactly 32 px: the ramps sum to 1.
    np.testing.assert_allclose(total[: starts[-1]], 1.0, atol=1e-6)


def test_predict_raster_matches_whole_image_and_keeps_georef(tiny_model, make_raster, tmp_path):
    model, config = tiny_model
    src, image = make_raster(150, 230)
    calls = []
    summary = predict_raster(model, config, src, tmp_path / "prob.tif",
                             PredictSettings(window=64, overlap=32, batch_size=2),
                             progress=lambda d, t: calls.append((d, t)))
    reference = np.rint(whole_image_prob(model, config, image) * PROB_SCALE)
    with rasterio.open(src) as s, rasterio.open(summary.path) as out:
        band = out.read(1)
        assert out.crs == s.crs and out.transform == s.transform
        assert out.nodata == NODATA and out.dtypes[0] == "uint8"
        assert out.compression.name.lower() == "deflate"
    assert np.abs(band.astype(int) - reference).max() <= 1
    assert calls[0] == (0, summary.windows) and calls[-1] == (summary.windows, summary.windows)
    assert summary.valid_pixels == 150 * 230


def test_nodata_stays_nodata(tiny_model, make_raster, write_raster, tmp_path):
    model, config = tiny_model
    _, image = make_raster(120, 100)
    image = np.maximum(image, 1)  # 0 is the declared nodata: only the hole may hold it
    image[30:70, 20:50] = 0  # a hole of nodata (all bands 0, declared nodata 0)
    src = write_raster(tmp_path / "holes.tif", image, nodata=0)
    predict_raster(model, config, src, tmp_path / "mask.tif", PredictSettings(window=64, overlap=16, output="mask"))
    with rasterio.open(tmp_path / "mask.tif") as out:
        band = out.read(1)
    hole = np.zeros(band.shape, bool)
    hole[30:70, 20:50] = True
    assert (band[hole] == NODATA).all()
    assert set(np.unique(band[~hole])) <= {0, 1}


@pytest.mark.parametrize("shape", [(1, 90), (90, 1), (1, 1), (40, 27)])
def test_tiny_and_thin_rasters(tiny_model, make_raster, tmp_path, shape):
    model, config = tiny_model
    src, _ = make_raster(*shape)
    summary = predict_raster(model, config, src, tmp_path / "out.tif", PredictSettings(window=64, overlap=32))
    with rasterio.open(summary.path) as out:
        band = out.read(1)
    assert band.shape == shape
    assert band.max() <= PROB_SCALE  # every pixel predicted, none left as nodata
    assert summary.windows >= 1


def test_mask_output_agrees_with_probability(tiny_model, make_raster, tmp_path):
    model, config = tiny_model
    src, _ = make_raster(100, 100)
    predict_raster(model, config, src, tmp_path / "p.tif", PredictSettings(window=64, overlap=32))
    s = predict_raster(model, config, src, tmp_path / "m.tif",
                       PredictSettings(window=64, overlap=32, output="mask", threshold=0.6))
    with rasterio.open(tmp_path / "p.tif") as p, rasterio.open(tmp_path / "m.tif") as m:
        prob, mask = p.read(1) / PROB_SCALE, m.read(1)
    clear = np.abs(prob - 0.6) > 1.0 / PROB_SCALE  # away from the rounding boundary
    np.testing.assert_array_equal(mask[clear], (prob[clear] >= 0.6).astype(np.uint8))
    assert s.building_pixels == int(mask.sum())


def test_cog_output(tiny_model, make_raster, tmp_path):
    model, config = tiny_model
    src, _ = make_raster(300, 280)
    predict_raster(model, config, src, tmp_path / "cog.tif", PredictSettings(window=128, overlap=32, cog=True))
    with rasterio.open(tmp_path / "cog.tif") as out:
        assert out.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert out.nodata == NODATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cog.tif", "src.tif"]  # no temp files left


def test_tta_is_mean_of_flips(tiny_model, make_raster):
    model, config = tiny_model
    _, image = make_raster(64, 64)
    tta = predict_tile(model, config, image, tta=True, tile=64, overlap=0)
    flips = [whole_image_prob(model, config, image),
             whole_image_prob(model, config, image[:, ::-1].copy())[:, ::-1],
             whole_image_prob(model, config, image[::-1].copy())[::-1]]
    np.testing.assert_allclose(tta, np.mean(flips, axis=0), atol=1e-5)


def test_bad_parameters_are_clear_errors(tiny_model, make_raster, tmp_path):
    model, config = tiny_model
    src, _ = make_raster(50, 50)
    with pytest.raises(PgsslError, match="overlap"):
        predict_raster(model, config, src, tmp_path / "o.tif", PredictSettings(window=64, overlap=64))
    with pytest.raises(PgsslError, match="multiple"):
        predict_raster(model, config, src, tmp_path / "o.tif", PredictSettings(window=60))
    with pytest.raises(PgsslError, match="output"):
        predict_raster(model, config, src, tmp_path / "o.tif", PredictSettings(output="logits"))
    assert not (tmp_path / "o.tif").exists()


def test_real_unet_on_real_xyz_tile(oam_dir, tmp_path):
    """A small smp U-Net (random init) through the model-file path on a real XYZ-named aerial PNG."""
    from pgssl_core.models import ModelConfig, create_model, load_model, save_model
    from pgssl_core.tiles import read_tile

    cfg = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(32, 16, 8))
    save_model(tmp_path / "m.pt", create_model(cfg), cfg)
    model, config, _ = load_model(tmp_path / "m.pt")
    tile = read_tile(sorted((oam_dir / "images").glob("*.png"))[0])
    assert tile.georeferenced  # located from its XYZ name (EPSG:3857)
    summary = predict_raster(model, config, tile, tmp_path / "real_prob.tif",
                             PredictSettings(window=128, overlap=32, tta=True))
    with rasterio.open(summary.path) as out:
        band = out.read(1)
        assert out.crs == tile.crs and out.transform == tile.transform
    assert band.shape == tile.image.shape[:2]
    np.testing.assert_array_equal(band == NODATA, ~tile.valid)


def test_reads_and_buffers_stay_bounded_on_a_wide_raster():
    """Reads never exceed one batch of windows; finished rows come out strip by strip."""
    from pgssl_core.infer.stitch import stitch_predictions

    height, width, tile, overlap, batch = 300, 2000, 64, 16, 2
    image = np.zeros((height, width, 3), np.uint8)
    requests = []

    def read(c, r, w, h):
        requests.append((w, h))
        return image[r:r + h, c:c + w], np.ones((h, w), bool)

    blocks = list(stitch_predictions(height, width, read, lambda b: np.full(b.shape[:3], 0.25, np.float32),
                                     tile, overlap, 8, batch))
    assert max(w for w, _ in requests) <= batch * (tile - overlap) + overlap
    assert max(h for _, h in requests) <= tile
    assert max(len(b.prob) for b in blocks[:-1]) <= tile - overlap  # the last strip ends the raster
    assert sum(len(b.prob) for b in blocks) == height
    np.testing.assert_allclose(np.concatenate([b.prob for b in blocks]), 0.25, atol=1e-6)


def test_a_model_left_in_train_mode_predicts_in_eval_mode(make_raster):
    from pgssl_core.models import ModelConfig, create_model

    cfg = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 8))
    model = create_model(cfg)
    _, image = make_raster(64, 64)
    expected = predict_tile(model.eval(), cfg, image, tile=64, overlap=0)
    model.train()
    got = predict_tile(model, cfg, image, tile=64, overlap=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)  # batch statistics were not used
    assert model.training  # and the caller's mode is restored
