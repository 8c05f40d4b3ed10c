"""Canvas RGBA strokes -> 0/1/255 labels, merging and filling."""

import numpy as np
import pytest

from pgssl_core.labeling import (
    DEFAULT_PALETTE,
    ERASED,
    fill_unlabelled,
    merge_labels,
    resize_nearest,
    strokes_to_labels,
)

B, G = DEFAULT_PALETTE.building, DEFAULT_PALETTE.background
STROKE_ALPHA = round(255 * DEFAULT_PALETTE.opacity)


def canvas(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 4), dtype=np.uint8)


def test_nothing_drawn_is_all_unlabelled() -> None:
    assert (strokes_to_labels(None, (5, 7)) == 255).all()
    assert (strokes_to_labels(canvas(10, 14), (5, 7)) == 255).all()


def test_colours_map_to_labels_at_tile_size() -> None:
    rgba = canvas(8, 8)
    rgba[0:4, 0:4] = (*B, STROKE_ALPHA)  # top-left quarter: building
    rgba[4:8, 4:8] = (*G, 255)  # bottom-right quarter: background, fully opaque
    labels = strokes_to_labels(rgba, (4, 4))  # the canvas is shown at 2x the tile size
    expected = np.full((4, 4), 255, np.uint8)
    expected[:2, :2] = 1
    expected[2:, 2:] = 0
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.uint8


def test_faint_antialiased_edges_stay_unlabelled_and_blends_pick_nearest_colour() -> None:
    rgba = canvas(1, 4)
    rgba[0, 0] = (*B, DEFAULT_PALETTE.min_alpha - 1)  # faint edge
    rgba[0, 1] = (*B, DEFAULT_PALETTE.min_alpha)  # just visible
    mix = (0.7 * np.array(G) + 0.3 * np.array(B)).astype(np.uint8)  # background over building
    rgba[0, 2] = (*mix, 200)
    rgba[0, 3] = (200, 40, 90, 120)  # off-colour but near building
    np.testing.assert_array_equal(strokes_to_labels(rgba, (1, 4)), [[255, 1, 0, 1]])


def test_resize_nearest_up_and_down() -> None:
    small = np.arange(6).reshape(2, 3)
    big = resize_nearest(small, (4, 6))
    np.testing.assert_array_equal(big[::2, ::2], small)
    np.testing.assert_array_equal(resize_nearest(big, (2, 3)), small)
    assert set(np.unique(resize_nearest(small, (3, 5)))) <= set(range(6))  # no interpolated values


def test_bad_canvas_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="RGBA"):
        strokes_to_labels(np.zeros((4, 4, 3), np.uint8), (4, 4))


def test_merge_strokes_override_base_where_painted() -> None:
    base = np.array([[1, 0, 255, 255]], np.uint8)
    strokes = np.array([[0, 255, 1, 255]], np.uint8)
    np.testing.assert_array_equal(merge_labels(base, strokes), [[0, 0, 1, 255]])
    with pytest.raises(ValueError):
        merge_labels(base, strokes[:, :2])


def test_fill_unlabelled_keeps_user_labels() -> None:
    base = np.array([[1, 0, 255, 255]], np.uint8)
    fill = np.array([[0, 1, 1, 0]], np.uint8)
    np.testing.assert_array_equal(fill_unlabelled(base, fill), [[1, 0, 1, 0]])


def test_eraser_strokes_mark_pixels_erased_even_over_other_strokes() -> None:
    E = DEFAULT_PALETTE.eraser
    rgba = canvas(1, 3)
    rgba[0, 0] = (*E, STROKE_ALPHA)  # eraser alone
    # eraser drawn over a building stroke: the canvas blends them, the top colour dominates
    over = (0.6 * np.array(E) + 0.24 * np.array(B)) / 0.84
    rgba[0, 1] = (*over.astype(np.uint8), 214)
    under = (0.6 * np.array(B) + 0.24 * np.array(E)) / 0.84  # building painted over an eraser stroke
    rgba[0, 2] = (*under.astype(np.uint8), 214)
    np.testing.assert_array_equal(strokes_to_labels(rgba, (1, 3)), [[ERASED, ERASED, 1]])


def test_merge_turns_erased_pixels_unlabelled_and_leaves_untouched_ones() -> None:
    base = np.array([[1, 0, 1, 255]], np.uint8)
    strokes = np.array([[ERASED, ERASED, 255, ERASED]], np.uint8)
    np.testing.assert_array_equal(merge_labels(base, strokes), [[255, 255, 1, 255]])
