"""One labelling session on one tile: canvas strokes saved as versioned labels, undo-friendly.

The canvas shows the label saved when it was opened (``base``) under the user's strokes. Every
change of the strokes saves ``merge_labels(base, strokes)`` against the version this editor
last saw, so the canvas's own undo / redo / clear also undo on disk. Bulk actions (clear,
model pre-fill) save a whole new mask, make it the new ``base`` and give the canvas a fresh
key (``epoch``) so its strokes start empty. When another tab saved first the save is refused
(:class:`~pgssl_core.errors.StaleVersionError`), the editor reloads from disk and says so:
nothing is overwritten silently.

Plain data and the catalog only: no Streamlit here, so the logic is tested directly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pgssl_core.catalog import Project
from pgssl_core.catalog.labels import apply_complete, empty_label, label_fractions
from pgssl_core.errors import StaleVersionError
from pgssl_core.labeling.strokes import merge_labels

STALE_MESSAGE = "This tile was changed in another tab: reloaded its saved label; redo your last change."

# process-wide counter: every opened canvas gets a key never used before in this server
_epochs = itertools.count(1)


@dataclass(frozen=True)
class SaveOutcome:
    """What a save did. ``status``: ``unchanged`` (nothing to save), ``saved`` or ``stale``
    (refused because of a newer version elsewhere; the editor was reloaded). ``version`` is the
    label version on disk afterwards."""

    status: Literal["unchanged", "saved", "stale"]
    version: int
    message: str = ""


@dataclass
class LabelEditor:
    """Editing state of one tile. Masks are (H, W) uint8 0/1/255.

    ``base``: saved label when the canvas was opened; ``saved``: what this editor last saved or
    loaded (version ``version``); ``epoch``: part of the canvas key (changes = empty canvas);
    ``undo``: the mask before the last bulk action, for one-step undo; ``complete``: the
    stored "rest is background" flag.
    """

    tile_id: str
    base: np.ndarray
    saved: np.ndarray
    version: int
    complete: bool
    epoch: int = field(default_factory=lambda: next(_epochs))
    undo: np.ndarray | None = None

    @classmethod
    def open(cls, project: Project, tile_id: str) -> LabelEditor:
        """Editor for ``tile_id`` starting from its saved label."""
        mask, version = project.load_label(tile_id)
        return cls(tile_id, mask, mask.copy(), version, project.tile(tile_id).label_complete)

    def reload(self, project: Project) -> None:
        """Forget local strokes: base and saved from disk, fresh canvas (keeps ``undo``)."""
        mask, self.version = project.load_label(self.tile_id)
        self.base, self.saved = mask, mask.copy()
        self.complete = project.tile(self.tile_id).label_complete
        self.epoch = next(_epochs)

    def new_canvas(self) -> None:
        """Start an empty canvas on top of what is saved (e.g. after zooming: the strokes of the old
        canvas are in ``saved`` and must not be merged again from the new one)."""
        self.base = self.saved.copy()
        self.epoch = next(_epochs)

    @property
    def base_shown(self) -> np.ndarray:
        """``base`` as training sees it (H, W) 0/1/255, for the canvas background: with "rest is
        background", unpainted pixels are background (no-data pixels included; training ignores those)."""
        return apply_complete(self.base, self.complete)

    @property
    def fractions(self) -> tuple[float, float]:
        """(labelled, building) shares in [0, 1] of the tile's pixels in the saved label as training sees
        it: a complete tile ("rest is background") is 100% labelled."""
        return label_fractions(apply_complete(self.saved, self.complete))

    @property
    def canvas_key(self) -> str:
        """Widget key of the canvas: new whenever the canvas must start without strokes."""
        return f"label-canvas-{self.tile_id}-{self.epoch}"

    def _save(self, project: Project, mask: np.ndarray, complete: bool | None) -> SaveOutcome:
        try:
            self.version = project.save_label(self.tile_id, mask, self.version, complete=complete)
        except StaleVersionError:
            self.reload(project)
            return SaveOutcome("stale", self.version, STALE_MESSAGE)
        self.saved = np.array(mask, dtype=np.uint8)
        if complete is not None:
            self.complete = bool(complete)
        return SaveOutcome("saved", self.version)

    def apply_strokes(self, project: Project, strokes: np.ndarray) -> SaveOutcome:
        """Save ``base`` overridden by ``strokes`` (H, W) 0/1/255, unless that is what is saved already."""
        merged = merge_labels(self.base, strokes)
        if np.array_equal(merged, self.saved):
            return SaveOutcome("unchanged", self.version)
        return self._save(project, merged, None)

    def replace(self, project: Project, mask: np.ndarray, remember_undo: bool = True) -> SaveOutcome:
        """Bulk action: save ``mask`` as the whole label, start a fresh canvas on top of it."""
        previous = self.saved.copy()
        outcome = self._save(project, mask, None)
        if outcome.status == "saved":
            self.undo = previous if remember_undo else None
            self.base = self.saved.copy()
            self.epoch = next(_epochs)
        return outcome

    def clear(self, project: Project) -> SaveOutcome:
        """Save an all-unlabelled mask (the previous one is kept for :meth:`undo_bulk`)."""
        return self.replace(project, empty_label(self.saved.shape))

    def undo_bulk(self, project: Project) -> SaveOutcome:
        """Restore the mask from before the last bulk action (no-op if there is none)."""
        if self.undo is None:
            return SaveOutcome("unchanged", self.version)
        return self.replace(project, self.undo, remember_undo=False)

    def set_complete(self, project: Project, complete: bool) -> SaveOutcome:
        """Save the current label with "rest is background" (``complete``) switched on or off."""
        if complete == self.complete and self.version > 0:
            return SaveOutcome("unchanged", self.version)
        outcome = self._save(project, self.saved, complete)
        if outcome.status == "saved":
            self.new_canvas()  # the background tint changes; strokes so far are in ``saved``
        return outcome
