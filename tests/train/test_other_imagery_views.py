"""Views that imitate other imagery: radiometry (gamma, colour balance, haze) and sensors (blur, noise, JPEG)."""

from __future__ import annotations

import math

import pytest
import torch

from pgssl_core.train.augment import (
    AugmentConfig,
    gaussian_blur,
    jpeg_round_trip,
    make_batch,
    other_imagery,
    radiometric,
)


def _checker(bands: int = 3, side: int = 32) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    board = (((yy // 4) + (xx // 4)) % 2).float() * 0.8 + 0.1
    return board.expand(bands, side, side).clone()


def test_views_are_unchanged_when_the_new_probabilities_are_zero():
    """A profile without the new views draws exactly the views it drew before they existed."""
    img = torch.randint(0, 255, (3, 48, 48), dtype=torch.uint8)
    mask = torch.randint(0, 2, (48, 48), dtype=torch.uint8)
    a = make_batch([img], [[mask]], [255], AugmentConfig(crop=32), torch.Generator().manual_seed(5))
    b = make_batch([img], [[mask]], [255], AugmentConfig(crop=32, gamma=3.0, haze=0.9, blur_sigma=4.0),
                   torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1][0], b[1][0])


def test_radiometric_gamma_gain_and_haze():
    img = torch.full((3, 4, 4), 0.25)
    assert torch.allclose(radiometric(img, math.log(0.5), [1, 1, 1], 0.0), torch.full((3, 4, 4), 0.5))
    out = radiometric(img, 0.0, [2.0, 1.0, 0.0], 0.0)
    assert out[0].eq(0.5).all() and out[1].eq(0.25).all() and out[2].eq(0.0).all()
    hazy = radiometric(torch.zeros(3, 4, 4), 0.0, [1, 1, 1], 0.5)
    assert torch.allclose(hazy, torch.full((3, 4, 4), 0.4))  # half way to the 0.8 veil


def test_blur_keeps_the_mean_and_lowers_the_contrast():
    img = _checker()
    out = gaussian_blur(img, 1.5)
    assert out.shape == img.shape
    assert abs(float(out.mean()) - float(img.mean())) < 0.01
    assert float(out.std()) < 0.5 * float(img.std())


def test_jpeg_round_trip_is_close_but_not_equal():
    img = _checker()
    out = jpeg_round_trip(img, 30)
    assert out.shape == img.shape and out.dtype == torch.float32
    err = (out - img).abs()
    assert float(err.mean()) < 0.1 and float(err.max()) > 0


@pytest.mark.parametrize("bands", [1, 3, 4])
def test_every_view_stays_in_range_for_any_band_count(bands):
    """All effects on at once: values stay in [0, 1], the shape is kept, and JPEG is skipped where it cannot
    encode the bands (4)."""
    cfg = AugmentConfig(crop=32, radiometric_p=1.0, blur_p=1.0, noise_p=1.0, jpeg_p=1.0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        out = other_imagery(_checker(bands), cfg, gen)
        assert out.shape == (bands, 32, 32)
        assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_labels_are_not_touched_by_the_views():
    img = torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
    mask = torch.randint(0, 2, (32, 32), dtype=torch.uint8)
    plain = AugmentConfig(crop=32, scale=(1.0, 1.0), flip=False, rot90=False)
    heavy = AugmentConfig(crop=32, scale=(1.0, 1.0), flip=False, rot90=False, radiometric_p=1.0, blur_p=1.0,
                          noise_p=1.0, jpeg_p=1.0)
    _, (y,) = make_batch([img], [[mask]], [255], heavy, torch.Generator().manual_seed(2))
    _, (y0,) = make_batch([img], [[mask]], [255], plain, torch.Generator().manual_seed(2))
    assert torch.equal(y[0], mask) and torch.equal(y0[0], mask)
