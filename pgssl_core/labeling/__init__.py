"""Labelling logic behind the Label page (pure numpy + the catalog; no Streamlit).

- ``strokes``: canvas RGBA strokes -> 0/1/255 label masks (eraser included), merging over a saved label.
- ``view``: zoom / pan windows of a tile and the strokes of a zoomed canvas put back in place.
- ``overlay``: saved labels tinted over the tile image for display.
- ``edit``: :class:`LabelEditor`, versioned, undo-friendly saving of one tile's label.
- ``uncertainty``: mean binary entropy of a model's prediction and the "label these next" ranking.
"""

from pgssl_core.labeling.edit import STALE_MESSAGE, LabelEditor, SaveOutcome
from pgssl_core.labeling.overlay import display_size, overlay, upscale
from pgssl_core.labeling.strokes import (
    DEFAULT_PALETTE,
    ERASED,
    BrushPalette,
    fill_unlabelled,
    merge_labels,
    resize_nearest,
    strokes_to_labels,
)
from pgssl_core.labeling.uncertainty import (
    RankedTile,
    binary_entropy,
    label_these_next,
    mean_binary_entropy,
    prediction_to_labels,
    rank_by_uncertainty,
    unlabelled_tile_ids,
)
from pgssl_core.labeling.view import ZOOMS, ViewWindow, can_pan, pan, place_strokes, zoom_window

__all__ = [
    "DEFAULT_PALETTE", "ERASED", "STALE_MESSAGE", "ZOOMS", "ViewWindow", "can_pan", "pan", "place_strokes",
    "zoom_window", "BrushPalette", "LabelEditor", "RankedTile", "SaveOutcome",
    "binary_entropy", "display_size", "fill_unlabelled", "label_these_next", "mean_binary_entropy", "merge_labels",
    "overlay", "prediction_to_labels", "rank_by_uncertainty", "resize_nearest", "strokes_to_labels",
    "unlabelled_tile_ids", "upscale",
]
