"""Whether scribble labels can teach a model where buildings end.

A user who paints mostly building strokes, with little background near them, trains a model that calls
whole blocks and streets "roof": the labels never show a building's edge. Two checks, on 0/1/255 masks
(``catalog.labels``: 0 background, 1 building, 255 unlabelled):

- :func:`balance_warning`, per tile for the Label page: the labelled pixels are (nearly) one class;
- :func:`shows_building_edge`, for the training data plan: some building pixel has labelled background
  within :data:`EDGE_PX` pixels, i.e. the labels show at least one place where a building ends.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from pgssl_core.catalog.labels import BACKGROUND, BUILDING, apply_complete

#: Share of the labelled pixels below which the minority class counts as missing. Why 5%: the loss is taken
#: over the labelled pixels, so with 95% of them one class a model that predicts that class everywhere is
#: already right on 95% of them, and the few minority pixels barely push it to find the boundary.
MIN_MINORITY_SHARE: float = 0.05

#: Distance (pixels, Euclidean) within which a background pixel counts as marking a building's edge. Why 10:
#: at the 0.3-0.5 m of the imagery the tool works at, 10 px is 3-5 m, about the gap between neighbouring
#: buildings or a lane; background painted farther from every building marks open ground beyond a street,
#: never where a roof stops.
EDGE_PX: int = 10

#: How to fix one-class labels, said wherever the problem is reported.
FIX = ("paint background strokes (blue brush) around the buildings, along their edges, or press "
       "“Rest is background” on a tile whose buildings are all painted")


def balance_warning(mask: np.ndarray, complete: bool = False) -> str | None:
    """One line when a tile's labels are (nearly) one class, with the fix; None when they are balanced.

    Args:
        mask: (H, W) uint8 label, 0 background, 1 building, 255 unlabelled (as saved).
        complete: the tile is marked "Rest is background" (unpainted pixels are background).

    Returns:
        A warning when less than :data:`MIN_MINORITY_SHARE` of the labelled pixels are background (nearly
        all building), or are building on a tile not marked complete (only background painted so far; a
        complete tile with few or no buildings is a true statement about the tile, not a problem); None
        when nothing is labelled or both classes are present enough.
    """
    labels = apply_complete(np.asarray(mask), complete)
    building = int(np.count_nonzero(labels == BUILDING))
    background = int(np.count_nonzero(labels == BACKGROUND))
    labelled = building + background
    if labelled == 0:
        return None
    if background < MIN_MINORITY_SHARE * labelled:
        return (f"This tile's labels are {building / labelled:.0%} building: a model cannot learn where "
                f"buildings end from them. To fix it, {FIX}.")
    if building < MIN_MINORITY_SHARE * labelled and not complete:
        return (f"This tile's labels are {background / labelled:.0%} background: paint its buildings (red brush) "
                "too, or press “Rest is background” if it has none.")
    return None


def shows_building_edge(labels: np.ndarray, edge_px: int = EDGE_PX) -> bool:
    """Whether some building pixel of ``labels`` has labelled background within ``edge_px`` pixels.

    Args:
        labels: (H, W) uint8 training label (0/1/255, "complete" already applied).
        edge_px: the distance in pixels (Euclidean, see :data:`EDGE_PX`).

    Returns:
        True when the label shows at least one building edge; False without building or background pixels.
    """
    labels = np.asarray(labels)
    building = labels == BUILDING
    background = labels == BACKGROUND
    if not building.any() or not background.any():
        return False
    # distance of every pixel to the nearest background pixel (0 on background itself)
    to_background = ndimage.distance_transform_edt(~background)
    return bool((to_background[building] <= edge_px).any())

