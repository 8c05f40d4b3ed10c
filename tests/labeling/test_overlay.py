"""Saved labels tinted over the image."""

import numpy as np
import pytest

from pgssl_core.labeling import DEFAULT_PALETTE, display_size, overlay, upscale


def test_overlay_tints_only_labelled_pixels() -> None:
    image = np.full((2, 3, 3), 100, np.uint8)
    mask = np.array([[1, 0, 255], [255, 255, 1]], np.uint8)
    out = overlay(image, mask, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out[0, 2], image[0, 2])  # unlabelled: untouched
    expected_building = np.rint(0.5 * 100 + 0.5 * np.array(DEFAULT_PALETTE.building))
    np.testing.assert_array_equal(out[0, 0], expected_building)
    np.testing.assert_array_equal(out[1, 2], expected_building)
    np.testing.assert_array_equal(out[0, 1], np.rint(0.5 * 100 + 0.5 * np.array(DEFAULT_PALETTE.background)))
    np.testing.assert_array_equal(overlay(image, mask, alpha=0.0), image)


def test_overlay_refuses_mismatched_shapes_and_alpha() -> None:
    with pytest.raises(ValueError):
        overlay(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError):
        overlay(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), alpha=1.5)


def test_display_size_and_upscale() -> None:
    assert display_size(256, 256, 512) == (512, 512)
    assert display_size(100, 200, 512) == (256, 512)
    image = np.arange(4, dtype=np.uint8).reshape(2, 2)
    np.testing.assert_array_equal(upscale(image, (4, 4)), np.kron(image, np.ones((2, 2), np.uint8)))
