"""Zero-label adaptation (AdaBN): BatchNorm statistics re-estimated on new tiles, nothing else changed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgssl_core.errors import PgsslError
from pgssl_core.models import ModelConfig, create_model, images_to_tensor
from pgssl_core.models.adapt_bn import (
    adapt_batchnorm,
    adapt_to_tiles,
    adaptation_batches,
    batchnorm_layers,
    sample_crops,
)

TINY = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))


@pytest.fixture()
def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(TINY).eval()


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _bn_buffer(key: str, bn_names: set[str]) -> bool:
    module, _, leaf = key.rpartition(".")
    return module in bn_names and leaf in ("running_mean", "running_var", "num_batches_tracked")


def _batches(seed: int, shift: float = 0.0, count: int = 3) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, 32, 32, generator=gen) + shift for _ in range(count)]


def test_only_batchnorm_buffers_change_and_the_original_is_untouched(tiny: torch.nn.Module) -> None:
    before = _snapshot(tiny)
    adapted = adapt_batchnorm(tiny, _batches(0, shift=1.5))
    assert adapted is not tiny
    after = _snapshot(tiny)
    assert after.keys() == before.keys()
    for key in before:  # the input model: every entry bit-identical
        assert torch.equal(after[key], before[key]), key
    bn_names = {name for name, _ in batchnorm_layers(adapted)}
    assert bn_names
    new = adapted.state_dict()
    assert new.keys() == before.keys()
    changed = set()
    for key, value in new.items():
        if _bn_buffer(key, bn_names):
            if not torch.equal(value, before[key]):
                changed.add(key.rpartition(".")[0])
        else:  # every parameter and every other buffer: bit-identical
            assert torch.equal(value, before[key]), key
    assert changed == bn_names  # every BatchNorm layer was re-estimated
    source = dict(batchnorm_layers(tiny))
    for name, bn in batchnorm_layers(adapted):
        assert int(bn.num_batches_tracked) == 3, name
        assert bn.momentum == source[name].momentum  # the pass's momentum is put back
    assert not adapted.training  # the mode of the model given


def test_statistics_move_to_the_new_data(tiny: torch.nn.Module) -> None:
    """The first BatchNorm sees the first convolution of the input: its running mean is the mean of that
    convolution's output over every pixel, and a shifted input moves it."""
    source_mean = batchnorm_layers(tiny)[0][1].running_mean.clone()
    batches = _batches(1, shift=2.0)
    adapted = adapt_batchnorm(tiny, batches)
    first_conv = next(m for m in adapted.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        features = torch.cat([first_conv(b) for b in batches])
    expected_mean = features.mean(dim=(0, 2, 3))
    expected_var = features.var(dim=(0, 2, 3), unbiased=True)
    bn = batchnorm_layers(adapted)[0][1]
    assert torch.allclose(bn.running_mean, expected_mean, atol=1e-4)
    assert torch.allclose(bn.running_var, expected_var, rtol=1e-3, atol=1e-4)
    assert not torch.allclose(bn.running_mean, source_mean, atol=1e-2)
    # a larger shift of the input moves the statistics further from those of unshifted data
    plain = batchnorm_layers(adapt_batchnorm(tiny, _batches(1)))[0][1].running_mean
    more = batchnorm_layers(adapt_batchnorm(tiny, _batches(1, shift=4.0)))[0][1].running_mean
    assert (more - plain).abs().sum() > (bn.running_mean - plain).abs().sum() > 0


def test_pooled_over_pixels_whatever_the_batching(tiny: torch.nn.Module) -> None:
    """The same pixels in one batch or in several give the same statistics at the first layer (pooled, not an
    average of per-batch figures)."""
    batches = _batches(2, count=4)
    one = batchnorm_layers(adapt_batchnorm(tiny, [torch.cat(batches)]))[0][1]
    many = batchnorm_layers(adapt_batchnorm(tiny, [b[i:i + 1] for b in batches for i in range(len(b))]))[0][1]
    assert torch.allclose(one.running_mean, many.running_mean, atol=1e-5)
    assert torch.allclose(one.running_var, many.running_var, rtol=1e-4, atol=1e-5)


def test_alpha_blends_source_and_target(tiny: torch.nn.Module) -> None:
    batches = _batches(3, shift=1.0)
    source = batchnorm_layers(tiny)[2][1]
    full = batchnorm_layers(adapt_batchnorm(tiny, batches, alpha=1.0))[2][1]
    half = batchnorm_layers(adapt_batchnorm(tiny, batches, alpha=0.5))[2][1]
    none = batchnorm_layers(adapt_batchnorm(tiny, batches, alpha=0.0))[2][1]
    assert torch.allclose(half.running_mean, (full.running_mean + source.running_mean) / 2, atol=1e-5)
    assert torch.allclose(half.running_var, (full.running_var + source.running_var) / 2, atol=1e-5)
    assert torch.allclose(none.running_mean, source.running_mean) and torch.allclose(none.running_var,
                                                                                      source.running_var)
    with pytest.raises(PgsslError, match="between 0 and 1"):
        adapt_batchnorm(tiny, batches, alpha=1.5)


def test_adapted_predictions_differ_and_original_predictions_do_not(tiny: torch.nn.Module) -> None:
    x = _batches(4, shift=1.0, count=1)[0]
    with torch.no_grad():
        before = tiny(x)
        adapted = adapt_batchnorm(tiny, _batches(5, shift=1.0))
        assert torch.equal(tiny(x), before)  # the original still predicts as before: reversible
        assert not torch.allclose(adapted.eval()(x), before)


def test_empty_and_bad_input_are_clear_errors(tiny: torch.nn.Module) -> None:
    with pytest.raises(PgsslError, match="no tiles"):
        adapt_batchnorm(tiny, [])
    with pytest.raises(PgsslError, match="no tiles"):
        adapt_batchnorm(tiny, iter(()))
    with pytest.raises(PgsslError, match="bands"):
        adapt_batchnorm(tiny, [torch.zeros(1, 4, 32, 32)])
    with pytest.raises(PgsslError, match=r"\(N, C, H, W\)"):
        adapt_batchnorm(tiny, [torch.zeros(3, 32, 32)])
    with pytest.raises(PgsslError, match=r"\(N, C, H, W\)"):
        adapt_batchnorm(tiny, [torch.zeros(1, 3, 32, 32, dtype=torch.uint8)])
    with pytest.raises(PgsslError, match="no BatchNorm"):
        adapt_batchnorm(torch.nn.Conv2d(3, 2, 1), _batches(0))
    with pytest.raises(PgsslError, match="no tiles"):
        adapt_to_tiles(tiny, TINY, [])
    with pytest.raises(PgsslError, match="stride"):
        adapt_to_tiles(tiny, TINY, [np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(PgsslError, match="bands"):
        adapt_to_tiles(tiny, TINY, [np.zeros((32, 32, 4), np.uint8)])


def test_sample_crops_are_seeded_sized_and_skip_nodata() -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (300, 500, 3), dtype=np.uint8), rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)]
    crops = sample_crops(images, multiple=8, crop=64, max_crops=10, seed=3)
    assert len(crops) == 10
    assert {c.shape for c in crops} <= {(64, 64, 3), (40, 64, 3)}
    again = sample_crops(images, multiple=8, crop=64, max_crops=10, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    # few pixels: every non-overlapping crop once
    assert len(sample_crops(images[1:], multiple=8, crop=64, max_crops=10)) == 1
    # a crop mostly outside the imaged area is not drawn
    columns = np.broadcast_to((np.arange(500) // 2).astype(np.uint8)[None, :, None], (300, 500, 3)).copy()
    valid = np.zeros((300, 500), bool)
    valid[:, :100] = True  # imaged: the first 100 columns only
    kept = sample_crops([columns], multiple=8, crop=64, max_crops=20, seed=0, valid=[valid])
    assert kept
    for crop in kept:  # the crop's first column, from its values: at least 90% of its columns are imaged
        first = int(crop[0, 0, 0]) * 2
        assert 100 - first >= 0.9 * 64 - 2
    with pytest.raises(PgsslError, match="imaged"):
        sample_crops(images[:1], multiple=8, crop=64, max_crops=5, valid=[np.zeros((300, 500), bool)])


def test_adaptation_batches_group_same_sized_crops() -> None:
    crops = [np.zeros((64, 64, 3), np.uint8)] * 5 + [np.zeros((32, 64, 3), np.uint8)] * 2
    batches = adaptation_batches(crops, TINY, batch_size=4)
    assert [tuple(b.shape) for b in batches] == [(4, 3, 64, 64), (1, 3, 64, 64), (2, 3, 32, 64)]
    assert torch.allclose(batches[0], images_to_tensor(np.stack(crops[:4]), TINY.mean, TINY.std))


def test_adapt_to_tiles_on_brighter_imagery(tiny: torch.nn.Module) -> None:
    """uint8 tiles brighter than usual: the first layer's statistics follow them, and only BatchNorm changes."""
    rng = np.random.default_rng(1)
    dark = [rng.integers(0, 80, (96, 96, 3), dtype=np.uint8) for _ in range(4)]
    bright = [rng.integers(170, 255, (96, 96, 3), dtype=np.uint8) for _ in range(4)]
    on_dark = adapt_to_tiles(tiny, TINY, dark, max_crops=8)
    on_bright = adapt_to_tiles(tiny, TINY, bright, max_crops=8)
    conv = next(m for m in tiny.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        bright_mean = conv(images_to_tensor(np.stack(bright), TINY.mean, TINY.std)).mean(dim=(0, 2, 3))
    got_bright = batchnorm_layers(on_bright)[0][1].running_mean
    got_dark = batchnorm_layers(on_dark)[0][1].running_mean
    assert (got_bright - bright_mean).abs().mean() < (got_dark - bright_mean).abs().mean()
    params = dict(tiny.named_parameters())
    for name, value in on_bright.named_parameters():
        assert torch.equal(value, params[name]), name
