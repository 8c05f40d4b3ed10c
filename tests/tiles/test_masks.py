"""Issue 11, item 6: label masks are binary by construction (threshold, lossy formats, odd values)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from pgssl_core.errors import TileError
from pgssl_core.tiles.masks import LabelMaskWarning, binarize_mask, read_label_mask


def _true_mask() -> np.ndarray:
    """A 64 x 64 mask of 16 buildings of 8 x 8 px (small buildings: many edge pixels)."""
    mask = np.zeros((64, 64), np.uint8)
    for row in range(2, 62, 16):
        for col in range(2, 62, 16):
            mask[row:row + 8, col:col + 8] = 1
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_quality_75_jpeg_mask_is_thresholded_and_warned(tmp_path):
    # The example: "any non-zero = building" on this JPEG gives far more building pixels.
    truth = _true_mask()
    path = tmp_path / "mask.jpg"
    Image.fromarray(truth * 255).save(path, quality=75)
    raw = np.asarray(Image.open(path))
    assert (raw != 0).sum() > 1.5 * truth.sum()  # the fault: non-zero counting inflates buildings
    with pytest.warns(LabelMaskWarning, match=r"mask\.jpg.*JPEG"):
        mask = read_label_mask(path)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    assert abs(int(mask.sum()) - int(truth.sum())) <= 0.02 * truth.sum()
    assert _iou(mask.astype(bool), truth.astype(bool)) > 0.97


@pytest.mark.parametrize("scale", [1, 255])
def test_clean_png_masks_read_exactly_without_warning(tmp_path, scale):
    truth = _true_mask()
    path = tmp_path / f"mask_{scale}.png"
    Image.fromarray(truth * scale).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelMaskWarning)
        np.testing.assert_array_equal(read_label_mask(path), truth)


def test_odd_values_warn_naming_the_file_and_threshold_at_half_range(tmp_path):
    values = np.zeros((40, 40), np.uint8)
    values[:, 20:] = 200
    values[:5, :5] = 60  # resampled edge values
    values[:5, 30:] = 120
    path = tmp_path / "resampled_mask.png"
    Image.fromarray(values).save(path)
    with pytest.warns(LabelMaskWarning, match=r"resampled_mask\.png.*60, 120"):
        mask = read_label_mask(path)
    assert mask[:5, :5].sum() == 0 and mask[:5, 30:].all() and mask[10:, 20:].all()  # threshold 100


def test_geotiff_masks_0_1_255_and_lossy_tiff(make_geotiff):
    truth = _true_mask()
    mixed = truth.copy()
    mixed[:4] = truth[:4] * 255  # 0/1 with some 255: still clean, 1 and 255 are building
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelMaskWarning)
        np.testing.assert_array_equal(read_label_mask(make_geotiff(mixed[None], name="m.tif")), truth)
    lossy = make_geotiff(np.repeat(truth[None] * 255, 3, axis=0), name="jpegmask.tif", compress="JPEG")
    with pytest.warns(LabelMaskWarning, match=r"jpegmask\.tif.*jpeg-compressed"):
        mask = read_label_mask(lossy)
    assert _iou(mask.astype(bool), truth.astype(bool)) > 0.95


def test_float_and_bool_masks():
    probs = np.array([[0.0, 0.2, 0.7, 1.0]], np.float32)
    with pytest.warns(LabelMaskWarning):
        assert binarize_mask(probs, "p.tif").tolist() == [[0, 0, 1, 1]]
    assert binarize_mask(np.array([[True, False]]), "b").tolist() == [[1, 0]]
    assert binarize_mask(np.full((2, 2), 255, np.uint8), "all").tolist() == [[1, 1], [1, 1]]


def test_unreadable_mask_is_a_one_line_error(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(TileError, match=r"^broken\.png: label mask is unreadable"):
        read_label_mask(path)


def test_training_folders_read_masks_through_read_label_mask(tmp_path):
    from pgssl_core.train.data import load_folder

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    truth = _true_mask()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(truth * 255).save(tmp_path / "masks" / "a.jpg", quality=75)
    with pytest.warns(LabelMaskWarning, match=r"a\.jpg"):
        (sample,) = load_folder(tmp_path / "images", tmp_path / "masks")
    assert abs(int(sample["mask"].sum()) - int(truth.sum())) <= 0.02 * truth.sum()
