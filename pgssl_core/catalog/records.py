"""Plain value objects the catalog hands out (no database handles inside)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

ImportStatus = Literal["added", "split", "error"]


@dataclass(frozen=True)
class LabelState:
    """The stored label of one tile.

    ``version`` 0 means never labelled. ``complete`` means unpainted pixels count as background
    at training time. Fractions are shares of all pixels of the tile in [0, 1].
    """

    version: int = 0
    complete: bool = False
    labelled_fraction: float = 0.0
    building_fraction: float = 0.0
    updated_at: str | None = None

    @property
    def status(self) -> Literal["unlabelled", "partial", "complete"]:
        """``unlabelled`` (nothing painted), ``partial`` or ``complete`` (usable in full)."""
        if self.complete:
            return "complete"
        return "partial" if self.version > 0 and self.labelled_fraction > 0 else "unlabelled"

    @property
    def trainable(self) -> bool:
        """True when training has at least one pixel of this label to learn from."""
        return self.version > 0 and (self.complete or self.labelled_fraction > 0)


@dataclass(frozen=True)
class TileRecord:
    """One catalogued tile.

    ``width``/``height`` in pixels; ``crs`` as a string (``EPSG:xxxx`` where possible, else WKT)
    or None; ``bounds`` (left, bottom, right, top) in CRS units or None; ``created_at`` an ISO
    8601 UTC timestamp. ``label_*`` mirror :class:`LabelState`.
    """

    id: str
    original_name: str
    width: int
    height: int
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    georeferenced: bool
    group: str | None
    split: str | None
    created_at: str
    label_version: int
    label_complete: bool
    labelled_fraction: float
    has_reference: bool
    building_fraction: float = 0.0
    nodata_fraction: float = 0.0
    georef_note: str | None = None
    source: dict = field(default_factory=dict)

    @property
    def label_state(self) -> LabelState:
        """The tile's label version, completeness, labelled and building fractions as a :class:`LabelState`."""
        return LabelState(self.label_version, self.label_complete, self.labelled_fraction, self.building_fraction)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TileRecord:
        """Build from a ``tiles LEFT JOIN labels`` row (see ``project._TILE_SELECT``)."""
        bounds = json.loads(row["bounds"]) if row["bounds"] else None
        return cls(
            id=row["id"], original_name=row["original_name"], width=row["width"], height=row["height"],
            crs=row["crs"], bounds=tuple(bounds) if bounds else None, georeferenced=bool(row["georeferenced"]),
            group=row["tile_group"], split=row["split"], created_at=row["created_at"],
            label_version=row["version"] or 0, label_complete=bool(row["complete"]),
            labelled_fraction=row["labelled_fraction"] or 0.0, has_reference=bool(row["has_reference"]),
            building_fraction=row["building_fraction"] or 0.0, nodata_fraction=row["nodata_fraction"],
            georef_note=row["georef_note"], source=json.loads(row["source"]),
        )


@dataclass(frozen=True)
class ImportResult:
    """The outcome of importing one file.

    ``status``: ``added`` (one tile), ``split`` (a large raster cut into ``len(tile_ids)`` tiles)
    or ``error`` (nothing stored; ``message`` says why in one line).
    """

    source_name: str
    status: ImportStatus
    tile_ids: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        """True if the file was stored (status ``added`` or ``split``), False on ``error``."""
        return self.status != "error"

    def line(self, shown_as: str | None = None) -> str:
        """One human-readable line (as the CLI prints it); ``shown_as`` replaces the file name."""
        # a file name may carry terminal escapes, NUL or bidi overrides: never print them raw
        who = "".join(ch if ch.isprintable() else "?" for ch in (shown_as or self.source_name))
        if self.status == "added":
            return f"added: {who} -> tile {self.tile_ids[0]}"
        if self.status == "split":
            return f"split: {who} into {len(self.tile_ids)} tiles"
        # reader messages often start with the file name already: do not say it twice
        reason = self.message.removeprefix(f"{self.source_name}: ")
        return f"error: {who}: {''.join(ch if ch.isprintable() else '?' for ch in reason)}"


class RunKind(StrEnum):
    """What a catalog run is: a training run, a "predict all tiles" run, or the supervised baseline of a
    training run. The values are the ``kind`` strings stored in the ``runs`` table (a StrEnum: equal to them)."""

    TRAIN = "train"
    PREDICT = "predict"
    BASELINE = "baseline"


@dataclass(frozen=True)
class RunRecord(Mapping[str, Any]):
    """One catalogued run: ``id``, ``kind``, ``status`` (created, running, done, failed, cancelled,
    interrupted), the ``config`` it was asked to run with and the ``metrics`` filed when it ended (JSON
    dicts), ISO 8601 UTC ``created_at`` / ``updated_at``, and its folder ``path`` (``runs/<id>/``).

    Also a read-only mapping of these fields (``run["path"]``), the form run rows had before they were typed.
    """

    id: str
    kind: RunKind
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str
    updated_at: str
    path: Path

    @classmethod
    def from_row(cls, row: sqlite3.Row, path: Path) -> RunRecord:
        """Build from a ``runs`` row; ``path`` is the run's folder (the layout decides it, not the row)."""
        return cls(id=row["id"], kind=RunKind(row["kind"]), status=row["status"], config=json.loads(row["config"]),
                   metrics=json.loads(row["metrics"]), created_at=row["created_at"], updated_at=row["updated_at"],
                   path=path)

    def __getitem__(self, key: str) -> Any:
        if key not in _RUN_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_RUN_FIELDS)

    def __len__(self) -> int:
        return len(_RUN_FIELDS)


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))
