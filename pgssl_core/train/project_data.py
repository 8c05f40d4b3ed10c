"""Training data from a project catalog: labelled tiles, the unlabelled pool and a validation set.

The choice of tiles (:func:`plan_project_data`) is cheap (catalog rows only) so the app can show it
before a run starts; :func:`training_data_from_project` then reads the images and masks.

Validation, in order of preference:
1. ``reference``: the project has ground-truth masks (the demo projects): validate on the reference
   masks of tiles that are *not* labelled, so every labelled tile is used for training;
2. ``val_split``: labelled tiles whose split is ``val`` are held out from training;
3. ``holdout``: a seeded ``val_fraction`` of the labelled tiles is held out (at least one tile
   stays for training).
Every tile's image is in the unlabelled pool (held-out tiles lose their mask there), as the method
pretrains on all imagery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.train.data import Sample, TrainingData, make_sample

MIN_LABELLED = 2
VALIDATION_NOTES = {
    "reference": "validated on the reference (ground-truth) masks of tiles you have not labelled",
    "val_split": "validated on your labelled tiles of split 'val' (held out from training)",
    "holdout": "validated on a seeded hold-out of your labelled tiles (not used for training)",
}


@dataclass(frozen=True)
class DataPlan:
    """Tile ids per role. ``train``: labelled tiles trained on; ``pool``: every other tile (images
    only); ``val``: validation tiles; ``val_source``: a key of :data:`VALIDATION_NOTES`."""

    train: tuple[str, ...]
    pool: tuple[str, ...]
    val: tuple[str, ...]
    val_source: str

    @property
    def note(self) -> str:
        """One line for the user: where the validation figures come from."""
        return VALIDATION_NOTES[self.val_source]


def _seeded_pick(ids: list[str], count: int, seed: int) -> list[str]:
    """``count`` of ``ids`` chosen by a seeded permutation, kept in catalog order."""
    order = np.random.default_rng(seed).permutation(len(ids))[:count]
    return [ids[i] for i in sorted(order.tolist())]


def plan_project_data(project: Project, val_fraction: float = 0.2, seed: int = 0,
                      max_val: int = 16, max_pool: int | None = None) -> DataPlan:
    """Which tiles train, pool and validate (see the module docstring). ``max_val`` caps the number
    of reference validation tiles and ``max_pool`` the unlabelled pool (seeded subsets), so that
    validation and pseudo-labelling stay fast (e.g. for the tiny ``test`` profile).

    Raises PgsslError when fewer than :data:`MIN_LABELLED` tiles have a trainable label.
    """
    if not 0 < val_fraction < 1:
        raise PgsslError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    records = project.tiles()
    labelled = project.labelled_tile_ids()
    if len(labelled) < MIN_LABELLED:
        raise PgsslError(f"label at least {MIN_LABELLED} tiles first ({len(labelled)} labelled so far): "
                         "paint buildings and background, or mark a tile complete, on the Label page")
    labelled_set = set(labelled)
    unlabelled = [r.id for r in records if r.id not in labelled_set]
    if max_pool is not None and len(unlabelled) > max_pool:
        unlabelled = _seeded_pick(unlabelled, max_pool, seed + 1)  # not the same draw as the validation tiles
    with_reference = [r for r in records if r.has_reference and r.id not in labelled_set]
    if with_reference:
        # prefer the project's own validation split among the reference tiles when it has one
        preferred = [r.id for r in with_reference if r.split == "val"] or [r.id for r in with_reference]
        val = _seeded_pick(preferred, min(max_val, len(preferred)), seed)
        return DataPlan(tuple(labelled), tuple(unlabelled), tuple(val), "reference")
    by_id = {r.id: r for r in records}
    val_split = [i for i in labelled if by_id[i].split == "val"]
    if val_split and len(val_split) < len(labelled):
        source, val = "val_split", val_split
    else:
        source = "holdout"
        count = min(max(1, round(len(labelled) * val_fraction)), len(labelled) - 1)
        val = _seeded_pick(labelled, count, seed)
    val_set = set(val)
    train = [i for i in labelled if i not in val_set]
    return DataPlan(tuple(train), tuple(val) + tuple(unlabelled), tuple(val), source)


def _sample(project: Project, tile_id: str, mask: np.ndarray | None) -> Sample:
    tile = project.read(tile_id)
    return make_sample(np.asarray(tile.image), mask, np.asarray(tile.valid), name=tile_id)


def load_plan(project: Project, plan: DataPlan) -> TrainingData:
    """Read the images and masks of ``plan``: training tiles with their training masks (0/1/255),
    validation tiles with their reference or training masks, pool tiles without masks."""
    train = [_sample(project, i, project.training_mask(i)) for i in plan.train]
    pool = [_sample(project, i, None) for i in plan.pool]
    if plan.val_source == "reference":
        val = [_sample(project, i, project.reference_mask(i)) for i in plan.val]
    else:
        val = [_sample(project, i, project.training_mask(i)) for i in plan.val]
    return TrainingData(train, pool, val)


def training_data_from_project(project: Project, val_fraction: float = 0.2, seed: int = 0,
                               max_val: int = 16, max_pool: int | None = None) -> TrainingData:
    """:func:`plan_project_data` then :func:`load_plan`: the ``TrainingData`` of a project."""
    return load_plan(project, plan_project_data(project, val_fraction, seed, max_val, max_pool))
