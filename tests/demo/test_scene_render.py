"""Unit checks of the SYNTHETIC tile painter: shadow geometry and output contract."""

from __future__ import annotations

import math

import numpy as np

from pgssl_core.demo.scene import district_styles
from pgssl_core.demo.scene_render import SUN_ELEVATION_DEG, _ray_shadow, render_tile


def test_ray_shadow_length_and_side() -> None:
    height = np.zeros((128, 128), np.float32)
    height[60:68, 60:68] = 10.0  # a 10 m tower, 8 x 8 px, at 0.5 m/px
    shadow = _ray_shadow(height, resolution_m=0.5)
    expected_px = 10.0 / math.tan(math.radians(SUN_ELEVATION_DEG)) / 0.5  # 20 px at 45 degrees
    rows, cols = np.nonzero(shadow & (height == 0))
    # Sun from the south-south-west: the shadow lies north (smaller rows) and east (larger cols).
    assert rows.min() < 60 and rows.max() <= 68 and cols.max() > 67
    reach = np.hypot(64 - rows, cols - 64).max()
    assert expected_px - 2 < reach < expected_px + 8
    assert not shadow[70:, :].any()  # nothing south of the tower


def test_render_tile_contract_and_density() -> None:
    sparse = render_tile(np.random.default_rng(3), 0.04, district_styles(0.04))
    dense = render_tile(np.random.default_rng(3), 0.5, district_styles(0.5))
    for image, mask in (sparse, dense):
        assert image.shape == (256, 256, 3) and image.dtype == np.uint8
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    assert dense[1].mean() > sparse[1].mean() * 2
    again = render_tile(np.random.default_rng(3), 0.5, district_styles(0.5))
    assert again[0].tobytes() == dense[0].tobytes()
