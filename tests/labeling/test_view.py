"""Zoom / pan windows of a tile and strokes of a zoomed canvas put back in place."""

import numpy as np
import pytest

from pgssl_core.labeling import ERASED, ViewWindow, can_pan, pan, place_strokes, zoom_window


def test_zoom_window_is_centred_and_stays_inside_the_tile() -> None:
    assert zoom_window((256, 256), 1) == ViewWindow(0, 0, 256, 256)
    assert zoom_window((256, 256), 2) == ViewWindow(64, 64, 128, 128)
    assert zoom_window((256, 512), 4, centre=(0, 500)) == ViewWindow(0, 384, 64, 128)  # clamped to the corner
    with pytest.raises(ValueError, match="zoom"):
        zoom_window((256, 256), 0)


def test_pan_moves_half_a_window_and_stops_at_the_edges() -> None:
    shape = (256, 256)
    window = zoom_window(shape, 2)
    right = pan(window, "right", shape)
    assert right == ViewWindow(64, 128, 128, 128)
    assert not can_pan(right, "right", shape) and can_pan(right, "left", shape)
    assert pan(pan(window, "up", shape), "up", shape) == ViewWindow(0, 64, 128, 128)
    assert not can_pan(zoom_window(shape, 1), "down", shape)  # the whole tile: nothing to pan
    with pytest.raises(ValueError, match="direction"):
        pan(window, "north", shape)


def test_place_strokes_puts_the_window_back_and_leaves_the_rest_untouched() -> None:
    window = ViewWindow(10, 20, 4, 6)
    local = np.full((4, 6), 255, np.uint8)
    local[0, 0], local[3, 5], local[1, 2] = 1, 0, ERASED
    full = place_strokes(local, window, (32, 40))
    assert full.shape == (32, 40) and full[10, 20] == 1 and full[13, 25] == 0 and full[11, 22] == ERASED
    assert np.count_nonzero(full != 255) == 3
    with pytest.raises(ValueError, match="window"):
        place_strokes(np.zeros((3, 3), np.uint8), window, (32, 40))
