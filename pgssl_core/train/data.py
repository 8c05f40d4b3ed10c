"""Training samples and the folder-free ``TrainingData`` structure, plus loaders from folders.

A sample is a dict ``{"image": uint8 (H, W, C), "mask": uint8 (H, W) with 0 background, 1 building,
255 ignored, or None when unlabelled}``. The app builds ``TrainingData`` from its catalog; the CLI
builds it from folders with :func:`load_folder` and :func:`split_label_fraction`. The stages train on
:class:`TensorSet`, the same samples as tensors.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pgssl_core.errors import PgsslError
from pgssl_core.models.device import ModuleT, prepare_input, prepare_module
from pgssl_core.tiles.formats import IMAGE_SUFFIXES
from pgssl_core.tiles.gsd import resample_fraction, resample_image, resample_label_mask, tile_gsd_m
from pgssl_core.tiles.masks import read_label_mask

IGNORE = 255
Sample = dict[str, Any]


@dataclass
class TrainingData:
    """What a training run consumes: labelled, unlabelled and validation samples (plain lists)."""

    labelled: list[Sample]
    unlabelled: list[Sample] = field(default_factory=list)
    val: list[Sample] = field(default_factory=list)
    gsd_m: float | None = None  # working GSD the tiles were resampled to (None: native, GSD unknown)

    def __post_init__(self) -> None:
        if not self.labelled:
            raise PgsslError("no labelled tiles: label at least one tile (or give --masks with matching names)")
        bands = {s["image"].shape[-1] for s in self.labelled + self.unlabelled + self.val}
        if len(bands) != 1:
            raise PgsslError(f"tiles have different band counts {sorted(bands)}; use tiles with the same bands")
        for s in self.labelled + self.val:
            if s.get("mask") is None:
                raise PgsslError("a labelled or validation tile has no mask")

    @property
    def bands(self) -> int:
        """Number of image bands C."""
        return int(self.labelled[0]["image"].shape[-1])

    def pool(self) -> list[Sample]:
        """Every training image (labelled and unlabelled): the pretraining pool."""
        return self.labelled + self.unlabelled


@dataclass
class TensorSet:
    """Samples as tensors: images uint8 (C, H, W), masks uint8 (H, W) or None (sizes may differ)."""

    images: list[torch.Tensor]
    masks: list[torch.Tensor | None]

    @classmethod
    def from_samples(cls, samples: Sequence[Sample]) -> TensorSet:
        """Convert samples (image (H, W, C) uint8, optional mask (H, W) uint8) to channel-first tensors."""
        images = [torch.from_numpy(s["image"]).permute(2, 0, 1).contiguous() for s in samples]
        masks = [None if s.get("mask") is None else torch.from_numpy(s["mask"]) for s in samples]
        return cls(images, masks)

    def __len__(self) -> int:
        return len(self.images)

    def shard(self, rank: int, world_size: int) -> TensorSet:
        """Every ``world_size``-th tile from ``rank`` on (a rank's share of sharded work)."""
        return TensorSet(self.images[rank::world_size], self.masks[rank::world_size])

    def area_weights(self) -> torch.Tensor:
        """Pixel count of each tile (float (N,)): tiles are drawn in proportion to the ground they cover,
        so a 64 px tile (a zoom-21 tile at a 0.3 m working GSD) is not drawn as often as a 256 px one."""
        return torch.tensor([float(img.shape[-2] * img.shape[-1]) for img in self.images])

    def labelled_masks(self) -> list[torch.Tensor]:
        """Every tile's mask, for a set that must be fully labelled (training, validation).

        Raises:
            PgsslError: some tiles have no mask.
        """
        masks = [m for m in self.masks if m is not None]
        if len(masks) != len(self.masks):
            raise PgsslError(f"{len(self.masks) - len(masks)} of {len(self.masks)} tiles have no mask")
        return masks


def make_sample(image: np.ndarray, mask: np.ndarray | None = None, valid: np.ndarray | None = None,
                name: str = "") -> Sample:
    """Normalise one sample: image to uint8 (H, W, C); ``mask`` coded 0/1/255 (255 = ignored).

    Pixels where ``valid`` (H, W bool) is False become 255 in the mask (no-data is never a label).
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.dtype != np.uint8:
        raise PgsslError(f"tile {name or '?'} is {img.dtype}, expected 8-bit imagery")
    out_mask = None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != img.shape[:2]:
            raise PgsslError(f"mask of {name or 'tile'} is {m.shape}, image is {img.shape[:2]}")
        if not np.isin(m, (0, 1, IGNORE)).all():
            raise PgsslError(f"mask of {name or 'tile'} must hold 0, 1 or 255 (ignored)")
        out_mask = m.astype(np.uint8, copy=True)
        if valid is not None:
            out_mask[~np.asarray(valid, dtype=bool)] = IGNORE
    return {"image": np.ascontiguousarray(img), "mask": out_mask, "name": name}


def _read_image(path: Path, working_gsd_m: float | None = None,
                stated_gsd_m: float | None = None) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(H, W, C) uint8 image, (H, W) valid mask, and the tile's GSD in m (None when it is not resampled:
    no working GSD asked for, or the tile's GSD is unknown; see :func:`pgssl_core.tiles.gsd.tile_gsd_m`)."""
    from pgssl_core.tiles import read_tile

    tile = read_tile(path)
    source = None
    if working_gsd_m is not None:
        source = tile_gsd_m(tile.transform, tile.crs, tile.width, tile.height, stated_gsd_m, path.name)
    return np.asarray(tile.image), np.asarray(tile.valid), source


def to_working_gsd(image: np.ndarray, valid: np.ndarray | None, mask: np.ndarray | None, source_gsd_m: float | None,
                   working_gsd_m: float | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Image (H, W, C), valid (H, W) bool and label mask (H, W) 0/1/255 of one tile resampled together
    from ``source_gsd_m`` to ``working_gsd_m`` (unchanged when either is None)."""
    if source_gsd_m is None or working_gsd_m is None:
        return image, valid, mask
    image = resample_image(image, source_gsd_m, working_gsd_m)
    if valid is not None:
        valid = resample_fraction(valid.astype(np.float32), source_gsd_m, working_gsd_m) >= 0.5
    if mask is not None:
        mask = resample_label_mask(mask, source_gsd_m, working_gsd_m, IGNORE)
    return image, valid, mask


def _find_mask(masks_dir: Path, image: Path) -> Path | None:
    for cand in [masks_dir / image.name] + [masks_dir / (image.stem + s) for s in IMAGE_SUFFIXES]:
        if cand.is_file():
            return cand
    return None


def list_images(images_dir: str | Path, manifest: str | Path | None = None, split: str | None = None) -> list[Path]:
    """Image files of a folder, optionally restricted to the rows of ``manifest`` (column ``file``,
    optional ``split``)."""
    folder = Path(images_dir)
    if not folder.is_dir():
        raise PgsslError(f"image folder not found: {folder}")
    if manifest is not None:
        with open(manifest, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and "file" not in rows[0]:
            raise PgsslError(f"manifest {manifest} has no 'file' column")
        if split is not None:
            rows = [r for r in rows if r.get("split") == split]
        paths = [folder / r["file"] for r in rows]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise PgsslError(f"{len(missing)} manifest files are missing from {folder}, e.g. {missing[0]}")
    else:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise PgsslError(f"no tiles found in {folder}" + (f" for split {split!r}" if split else ""))
    return paths


def load_folder(images_dir: str | Path, masks_dir: str | Path | None = None, manifest: str | Path | None = None,
                split: str | None = None, limit: int | None = None, seed: int = 0,
                working_gsd_m: float | None = None, stated_gsd_m: float | None = None) -> list[Sample]:
    """Load tiles (and their masks when ``masks_dir`` is given) into samples.

    ``limit`` keeps a seeded random subset of that many tiles (before reading, so it is cheap). With
    ``working_gsd_m`` every tile whose GSD is known (georeference or XYZ name; else ``stated_gsd_m``) is
    resampled to it, mask included; a tile of unknown GSD stays native (``UnresolvedGsdWarning``).
    Each sample records ``gsd_m``: its GSD after loading (None when unknown).
    """
    paths = list_images(images_dir, manifest, split)
    if limit is not None and limit < len(paths):
        order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed)).tolist()
        paths = [paths[i] for i in sorted(order[:limit])]
    samples = []
    valid: np.ndarray | None  # resampling keeps it an array; typed as to_working_gsd returns it
    for path in paths:
        image, valid, source_gsd = _read_image(path, working_gsd_m, stated_gsd_m)
        mask = None
        if masks_dir is not None:
            mask_path = _find_mask(Path(masks_dir), path)
            if mask_path is None:
                raise PgsslError(f"no mask for {path.name} in {masks_dir}")
            mask = read_label_mask(mask_path)  # 0/1 at half the value range; lossy/odd masks warned (by name)
            if mask.shape != image.shape[:2]:
                raise PgsslError(f"mask of {path.name} is {mask.shape}, image is {image.shape[:2]}")
        image, valid, mask = to_working_gsd(image, valid, mask, source_gsd, working_gsd_m)
        sample = make_sample(image, mask, valid, name=path.name)
        sample["gsd_m"] = working_gsd_m if source_gsd is not None else None
        samples.append(sample)
    return samples


def split_label_fraction(samples: list[Sample], fraction: float, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Seeded split: ``fraction`` of the samples keep their masks, the rest lose them (unlabelled pool).

    At least one sample stays labelled.
    """
    if not 0 < fraction <= 1:
        raise PgsslError(f"--label-fraction must be in (0, 1], got {fraction}")
    n_keep = max(1, round(len(samples) * fraction))
    order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(seed)).tolist()
    keep = set(order[:n_keep])
    labelled = [s for i, s in enumerate(samples) if i in keep]
    unlabelled = [{**s, "mask": None} for i, s in enumerate(samples) if i not in keep]
    return labelled, unlabelled


#: Training runs its convolutions in channels-last memory format on every device (``prepare_module`` does it
#: on CUDA only, for inference; the budget's probe of a step uses the same): oneDNN's CPU convolutions are
#: faster in it. Measured on the shared 2-core CPU, one thread, the ``quick`` U-Net's forward and backward
#: pass on 8 tiles of 128 px: 0.86 s contiguous, 0.56 s channels-last (medians of 5);
#: ``benchmarks/pgssl_step.py`` compares both. The results differ from the contiguous format's by float
#: rounding only (another summation order in the kernels).
CHANNELS_LAST = True


def training_module(module: ModuleT, device: torch.device) -> ModuleT:
    """``module`` on ``device`` for training (in place; the same object is returned), channels-last when
    :data:`CHANNELS_LAST`."""
    module = prepare_module(module, device)
    return module.to(memory_format=torch.channels_last) if CHANNELS_LAST else module


def training_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A (N, C, H, W) batch on ``device`` in the training memory format (see :data:`CHANNELS_LAST`)."""
    x = prepare_input(x, device)
    return x.contiguous(memory_format=torch.channels_last) if CHANNELS_LAST else x
