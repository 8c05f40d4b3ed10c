"""Data layer and joint augmentations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgssl_core.errors import PgsslError
from pgssl_core.train import TrainingData, load_folder, make_sample, split_label_fraction
from pgssl_core.train.augment import AugmentConfig, make_batch


def test_load_folder_reads_geotiff_images_and_binary_masks(tile_folders):
    images, masks = tile_folders
    samples = load_folder(images, masks)
    assert len(samples) == 8
    s = samples[0]
    assert s["image"].shape == (48, 48, 3) and s["image"].dtype == np.uint8
    assert set(np.unique(s["mask"])) <= {0, 1} and s["mask"].sum() > 0


def test_missing_mask_is_a_clear_error(tile_folders):
    images, masks = tile_folders
    (masks / "t3.png").unlink()
    with pytest.raises(PgsslError, match="no mask for t3.tif"):
        load_folder(images, masks)


def test_label_fraction_split_is_seeded_and_moves_rest_to_pool(tile_folders):
    samples = load_folder(*tile_folders)
    lab, unl = split_label_fraction(samples, 0.25, seed=3)
    lab2, _ = split_label_fraction(samples, 0.25, seed=3)
    assert len(lab) == 2 and len(unl) == 6
    assert [s["name"] for s in lab] == [s["name"] for s in lab2]
    assert all(s["mask"] is None for s in unl)


def test_invalid_pixels_become_ignored():
    img = np.zeros((4, 4, 3), np.uint8)
    valid = np.ones((4, 4), bool)
    valid[0] = False
    s = make_sample(img, np.ones((4, 4), np.uint8), valid)
    assert (s["mask"][0] == 255).all() and (s["mask"][1:] == 1).all()


def test_training_data_needs_labels():
    with pytest.raises(PgsslError):
        TrainingData([], [make_sample(np.zeros((8, 8, 3), np.uint8))])


@pytest.mark.parametrize("bands", [1, 3, 5])
def test_joint_augmentation_keeps_mask_on_image(bands):
    """Band 0 carries the mask (255 on buildings): after flips/rotations/scale-crop the mask must
    still sit exactly where band 0 is bright."""
    gen = torch.Generator().manual_seed(0)
    imgs, maps = [], []
    for k in range(4):
        mask = torch.zeros(40, 40, dtype=torch.uint8)
        mask[5 + k:20, 8:30 - k] = 1
        img = torch.zeros(bands, 40, 40, dtype=torch.uint8)
        img[0] = mask * 255
        imgs.append(img)
        maps.append([mask])
    cfg = AugmentConfig(crop=32, scale=(1.0, 1.0), brightness=0.0, contrast=0.0)
    x, (y,) = make_batch(imgs, maps, [255], cfg, gen)
    assert x.shape == (4, bands, 32, 32) and y.shape == (4, 32, 32)
    assert torch.equal((x[:, 0] > 0.5), y == 1)


def test_colour_jitter_and_scale_work_for_any_band_count():
    gen = torch.Generator().manual_seed(1)
    img = torch.randint(0, 255, (7, 48, 48), dtype=torch.uint8)
    mask = torch.randint(0, 2, (48, 48), dtype=torch.uint8)
    x, (y,) = make_batch([img], [[mask]], [255], AugmentConfig(crop=32, scale=(1.2, 1.5)), gen)
    assert x.shape == (1, 7, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert set(torch.unique(y).tolist()) <= {0, 1, 255}
