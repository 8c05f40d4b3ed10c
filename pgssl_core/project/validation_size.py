"""How much validation a run's figures rest on: tiles, labelled pixels, buildings, and whether that is
too little to judge a model by.

A validation IoU is a ratio of pixel counts over the validation masks. From one tile with a few
strokes it says little about the model: in an end-to-end trial of the app a held-out tile with a few
strokes gave val IoU 0.864, while the same model scored 0.12 against the tile set's true masks.
The app shows these figures beside every val IoU and a plain warning under the thresholds below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from pgssl_core.catalog import Project
from pgssl_core.catalog.labels import BUILDING, UNLABELLED
from pgssl_core.project.data_plan import DataPlan

# Thresholds under which a val IoU is reported as "too little to judge". Judgement values, not
# measured optima: with 40 val tiles (thousands of buildings) this project's val IoU still moved by
# about ±0.1 between evaluations (docs/studies.md, "Earlier results"), so far fewer buildings or pixels
# cannot rank models.
MIN_VAL_TILES = 3
MIN_VAL_BUILDINGS = 20
MIN_VAL_LABELLED_PX = 3 * 256 * 256  # three fully labelled 256 px tiles (the shared OAM tile size)


@dataclass(frozen=True)
class ValidationSize:
    """Size of a validation set. ``labelled_px``: pixels with a label (0 or 1); ``building_px``: pixels
    labelled building; ``buildings``: connected building regions (8-connected) of at least
    ``min_region_px`` pixels; ``complete_tiles``: tiles whose every pixel is labelled."""

    tiles: int
    labelled_px: int
    building_px: int
    buildings: int
    complete_tiles: int

    def too_little(self) -> str | None:
        """Why these figures are too few to judge a model by (one line), or None."""
        reasons = []
        if self.tiles < MIN_VAL_TILES:
            reasons.append(f"{self.tiles} tile{'s' if self.tiles != 1 else ''} (fewer than {MIN_VAL_TILES})")
        if self.buildings < MIN_VAL_BUILDINGS:
            reasons.append(f"{self.buildings} building{'s' if self.buildings != 1 else ''} "
                           f"(fewer than {MIN_VAL_BUILDINGS})")
        if self.labelled_px < MIN_VAL_LABELLED_PX:
            reasons.append(f"{self.labelled_px:,} labelled pixels (fewer than {MIN_VAL_LABELLED_PX:,})")
        return ", ".join(reasons) or None

    @property
    def scoring(self) -> str:
        """What a score on these masks is: ``accuracy`` when every tile is fully labelled and
        :meth:`too_little` finds nothing, ``small`` when fully labelled but too little, ``strokes`` when a
        tile is only partly labelled (scribbles: a score on them is agreement with the strokes, which a model
        trained on the same hand's strokes wins even when it is worse on whole tiles)."""
        if self.complete_tiles < self.tiles:
            return "strokes"
        return "small" if self.too_little() else "accuracy"

    def score_name(self) -> str:
        """What to call a score on these masks, e.g. "agreement with your strokes on 1 tile (not an accuracy)"."""
        tiles = f"{self.tiles} tile{'s' if self.tiles != 1 else ''}"
        return {"accuracy": f"the model's accuracy on {tiles} fully labelled for validation",
                "small": f"IoU on only {tiles} fully labelled for validation (too little to be the model's "
                         "accuracy)",
                "strokes": f"agreement with your strokes on {tiles} (not an accuracy)"}[self.scoring]

    def line(self) -> str:
        """E.g. "3 tiles (2 fully labelled), 412,000 labelled pixels, 57 buildings"."""
        return (f"{self.tiles} tile{'s' if self.tiles != 1 else ''} ({self.complete_tiles} fully labelled), "
                f"{self.labelled_px:,} labelled pixels, {self.buildings} building{'s' if self.buildings != 1 else ''}")

    def to_dict(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationSize:
        """Rebuild the counts from :meth:`to_dict` output.

        Raises:
            KeyError: a count is missing from ``data``.
        """
        return cls(**{k: int(data[k]) for k in ("tiles", "labelled_px", "building_px", "buildings",
                                                  "complete_tiles")})


def mask_size(masks: list[np.ndarray], min_region_px: int = 4) -> ValidationSize:
    """:class:`ValidationSize` of (H, W) uint8 masks (0 background, 1 building, 255 unlabelled).

    Regions under ``min_region_px`` pixels (stray brush dabs) are not counted as buildings.
    """
    labelled = building = regions = complete = 0
    for mask in masks:
        mask = np.asarray(mask)
        known = mask != UNLABELLED
        labelled += int(known.sum())
        complete += int(known.all())
        roof = mask == BUILDING
        building += int(roof.sum())
        labels, count = ndimage.label(roof, structure=np.ones((3, 3), bool))
        if count:
            sizes = np.bincount(labels.ravel())[1:]
            regions += int((sizes >= min_region_px).sum())
    return ValidationSize(len(masks), labelled, building, regions, complete)


def validation_size(project: Project, plan: DataPlan) -> ValidationSize:
    """The size of ``plan``'s validation set, from the masks a run validates on (reference masks for
    ``reference`` validation, else the tiles' training masks)."""
    if plan.val_source == "reference":
        masks = [project.reference_mask(i) for i in plan.val]
    else:
        masks = [project.training_mask(i) for i in plan.val]
    return mask_size([m for m in masks if m is not None])
