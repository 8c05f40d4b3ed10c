"""Training data from a project catalog: labelled tiles, the unlabelled pool and a validation set.

The choice of tiles (:func:`plan_project_data`) is cheap (catalog rows only) so the app can show it
before a run starts; :func:`training_data_from_project` then reads the images and masks.

Validation, in order of preference:
1. ``reference``: the project has ground-truth masks (the demo projects): validate on the reference
   masks of tiles that are *not* labelled, so every labelled tile is used for training;
2. ``val_split``: labelled tiles whose split is ``val`` are held out from training;
3. ``holdout``: ``val_fraction`` of the labelled tiles is held out (at least one tile stays for
   training), fully labelled tiles first (seeded among them), then the most labelled ones.
Every tile's image is in the unlabelled pool (held-out tiles lose their mask there), as the method
pretrains on all imagery.

Labels from which no model can learn where buildings end are refused with the reason: no
building pixel, no background pixel, or no building pixel with labelled background within
``labeling.balance.EDGE_PX`` pixels on any labelled tile (:func:`edge_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgssl_core.catalog import Project, TileRecord
from pgssl_core.catalog.gsd_settings import GsdSettings, project_gsd
from pgssl_core.catalog.labels import apply_complete
from pgssl_core.errors import PgsslError
from pgssl_core.labeling.balance import EDGE_PX, FIX, shows_building_edge
from pgssl_core.tiles.gsd import tile_gsd_m
from pgssl_core.train.data import Sample, TrainingData, make_sample, to_working_gsd

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


def _holdout(labelled: list[str], by_id: dict, count: int, seed: int) -> list[str]:
    """``count`` labelled tiles to hold out, fully labelled ones first ("Rest is background" makes a tile
    complete): a few strokes on a mostly unlabelled tile make a misleading validation set. Seeded
    among the complete tiles, then the most labelled of the rest."""
    complete = [i for i in labelled if by_id[i].label_complete]
    if len(complete) >= count:
        return _seeded_pick(complete, count, seed)
    partial = sorted((i for i in labelled if not by_id[i].label_complete),
                     key=lambda i: -by_id[i].labelled_fraction)
    chosen = set(complete + partial[:count - len(complete)])
    return [i for i in labelled if i in chosen]


def plan_project_data(project: Project, val_fraction: float = 0.2, seed: int = 0,
                      max_val: int = 16, max_pool: int | None = None) -> DataPlan:
    """Which tiles train, pool and validate (see the module docstring). ``max_val`` caps the number
    of reference validation tiles and ``max_pool`` the unlabelled pool (seeded subsets), so that
    validation and pseudo-labelling stay fast (e.g. for the tiny ``test`` profile).

    Raises PgsslError when fewer than :data:`MIN_LABELLED` tiles have a trainable label, or when the
    labels cannot show where buildings end (:func:`edge_problem`).
    """
    if not 0 < val_fraction < 1:
        raise PgsslError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    records = project.tiles()
    labelled = project.labelled_tile_ids()
    if len(labelled) < MIN_LABELLED:
        raise PgsslError(f"label at least {MIN_LABELLED} tiles first ({len(labelled)} labelled so far): "
                         "paint buildings and background, or mark a tile complete, on the Label page")
    labelled_set = set(labelled)
    problem = edge_problem(project, [r for r in records if r.id in labelled_set])
    if problem is not None:
        raise PgsslError(problem)
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
        val = _holdout(labelled, by_id, count, seed)
    val_set = set(val)
    train = [i for i in labelled if i not in val_set]
    return DataPlan(tuple(train), tuple(val) + tuple(unlabelled), tuple(val), source)


def edge_problem(project: Project, labelled: list[TileRecord]) -> str | None:
    """Why no model can learn where buildings end from the labels of ``labelled`` tiles, or None.

    Refused, in this order: no building pixel; no background pixel (the labels are all building); no
    building pixel with labelled background within ``EDGE_PX`` pixels on any tile (building and
    background painted apart). The first two come from the catalog's label fractions. For the third, a
    tile marked complete with both classes passes without reading its mask (every unpainted pixel is
    background there); other tiles' masks are read until one shows an edge.
    """
    n = len(labelled)
    if not any(r.building_fraction > 0 for r in labelled):
        return (f"the {n} labelled tiles hold no building pixel: the model could only learn background; paint at "
                "least one building with the red brush on the Label page")
    background = {r.id for r in labelled if (r.label_complete and r.building_fraction < 1)
                  or r.labelled_fraction > r.building_fraction}
    if not background:
        return (f"the {n} labelled tiles hold no background pixel, so no model can learn where buildings end: "
                f"on the Label page, {FIX}")
    if any(r.label_complete and 0 < r.building_fraction < 1 for r in labelled):
        return None
    for record in labelled:
        if record.building_fraction > 0 and record.id in background:
            mask, _version = project.load_label(record.id)
            if shows_building_edge(apply_complete(mask, record.label_complete)):
                return None
    return (f"on none of the {n} labelled tiles does background lie within {EDGE_PX} px of a building, so no "
            f"model can learn where buildings end: on the Label page, {FIX}")


def _sample(project: Project, tile_id: str, mask: np.ndarray | None, gsd: GsdSettings) -> Sample:
    tile = project.read(tile_id)
    source = None
    if gsd.working_gsd_m is not None:
        source = tile_gsd_m(tile.transform, tile.crs, tile.width, tile.height, gsd.tile_gsd_m, tile_id)
    image, valid, mask = to_working_gsd(np.asarray(tile.image), np.asarray(tile.valid), mask, source,
                                        gsd.working_gsd_m)
    return make_sample(image, mask, valid, name=tile_id)


def load_plan(project: Project, plan: DataPlan, gsd: GsdSettings | None = None) -> TrainingData:
    """Read the images and masks of ``plan``: training tiles with their training masks (0/1/255),
    validation tiles with their reference or training masks, pool tiles without masks; every tile at
    the project's working GSD (``gsd``, default: the project's settings)."""
    gsd = gsd or project_gsd(project)
    train = [_sample(project, i, project.training_mask(i), gsd) for i in plan.train]
    pool = [_sample(project, i, None, gsd) for i in plan.pool]
    if plan.val_source == "reference":
        val = [_sample(project, i, project.reference_mask(i), gsd) for i in plan.val]
    else:
        val = [_sample(project, i, project.training_mask(i), gsd) for i in plan.val]
    return TrainingData(train, pool, val, gsd_m=gsd.working_gsd_m)


def training_data_from_project(project: Project, val_fraction: float = 0.2, seed: int = 0,
                               max_val: int = 16, max_pool: int | None = None) -> TrainingData:
    """:func:`plan_project_data` then :func:`load_plan`: the ``TrainingData`` of a project."""
    return load_plan(project, plan_project_data(project, val_fraction, seed, max_val, max_pool))
