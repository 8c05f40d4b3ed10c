"""A project: one folder with a SQLite catalog, tiles as GeoTIFF, label masks as PNG, run folders.

Thread safety: a :class:`Project` holds one SQLite connection opened with
``check_same_thread=False`` and guards every use with its own re-entrant lock, so one handle may
be shared with a background thread (e.g. an import job). Several handles, in one process or in
many, may work on the same folder at once: SQLite's write lock (taken by ``BEGIN IMMEDIATE``)
serialises their writes, and label saves are version-checked so that none is silently lost.

Write order (so that a crash at any point leaves a consistent project): a file is written
atomically *inside* the transaction that inserts or updates its row; if the transaction fails
the file is removed; files that lost their row in a crash are removed on the next open
(:mod:`pgssl_core.catalog.recovery`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

# the submodules by their own names: `from pgssl_core.catalog import labels` reads the package, whose
# __init__ imports this module (an import cycle, tests/core/test_code_shape.py)
import pgssl_core.catalog.labels as L
import pgssl_core.catalog.runs as R
from pgssl_core.catalog.layout import DB_NAME, ProjectLayout, check_tile_id
from pgssl_core.catalog.records import LabelState, RunKind, RunRecord, TileRecord
from pgssl_core.catalog.recovery import recover
from pgssl_core.catalog.schema import check_version, connect, initialise, to_json, transaction, utc_now
from pgssl_core.catalog.thumbnails import write_thumbnail
from pgssl_core.errors import CatalogError, StaleVersionError
from pgssl_core.io import atomic_write_bytes
from pgssl_core.tiles import Tile, read_tile, write_tile_geotiff

SPLITS = ("train", "val", "test")
_TILE_SELECT = ("SELECT t.*, l.version, l.complete, l.labelled_fraction, l.building_fraction "
                "FROM tiles t LEFT JOIN labels l ON l.tile_id = t.id")


def upsert_label_row(conn: sqlite3.Connection, tile_id: str, version: int, complete: bool,
                     fractions: tuple[float, float]) -> None:
    """Make ``version`` the current label of ``tile_id`` (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO labels (tile_id, version, complete, labelled_fraction, building_fraction, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tile_id) DO UPDATE SET version = excluded.version, "
        "complete = excluded.complete, labelled_fraction = excluded.labelled_fraction, "
        "building_fraction = excluded.building_fraction, updated_at = excluded.updated_at",
        (tile_id, version, int(complete), fractions[0], fractions[1], utc_now()),
    )


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Project:
    """A project folder. Make one with :meth:`create`, :meth:`open` or :meth:`open_or_create`."""

    root: Path
    name: str
    description: str

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        """Private: use the class methods."""
        self.root = Path(root)
        self._layout = ProjectLayout(self.root)
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        info = {row["key"]: row["value"] for row in conn.execute("SELECT key, value FROM project_info")}
        self.name = info.get("name", self.root.name)
        self.description = info.get("description", "")
        self.created_at = info.get("created_at")

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    def create(cls, root: Path, name: str, description: str = "") -> Project:
        """Create a project in ``root`` (made if missing); CatalogError if one exists there.

        The database is built under a temporary name and linked into place, so a crash never
        leaves a half-made catalog, and of two concurrent creators exactly one wins.
        """
        root = Path(root)
        layout = ProjectLayout(root)
        if layout.db_path.exists():
            raise CatalogError(f"a project already exists in {root}: open it instead")
        if not str(name).strip():
            raise CatalogError("a project needs a name")
        if root.exists() and not root.is_dir():
            raise CatalogError(f"{root} is a file, not a folder")
        for folder in (root, *layout.data_dirs(), layout.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{DB_NAME}.{secrets.token_hex(4)}.tmp"
        try:
            conn = connect(tmp, create=True)
            try:
                initialise(conn, {"name": str(name).strip(), "description": description, "created_at": utc_now()})
            finally:
                conn.close()  # the last close checkpoints and removes the -wal/-shm files
            try:
                os.link(tmp, layout.db_path)  # fails if another creator won the race
            except FileExistsError:
                raise CatalogError(f"a project already exists in {root}: open it instead") from None
        finally:
            _remove(tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"))
        return cls.open(root)

    @classmethod
    def open(cls, root: Path) -> Project:
        """Open an existing project (and clean up after an earlier crash); CatalogError if none."""
        layout = ProjectLayout(Path(root))
        if not layout.db_path.is_file():
            raise CatalogError(f"{root} is not a pgssl project (no {DB_NAME}): create it first")
        conn = connect(layout.db_path)
        try:
            check_version(conn, layout.db_path)
            for folder in (*layout.data_dirs(), layout.runs_dir):
                folder.mkdir(exist_ok=True)
            recover(conn, layout)
            return cls(layout.root, conn)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def open_or_create(cls, root: Path, name: str, description: str = "") -> Project:
        """Open the project in ``root``, creating it (with ``name``) if there is none."""
        if ProjectLayout(Path(root)).db_path.exists():
            return cls.open(root)
        try:
            return cls.create(root, name, description)
        except CatalogError:
            if ProjectLayout(Path(root)).db_path.exists():  # lost a creation race: fine
                return cls.open(root)
            raise

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r}, name={self.name!r})"

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CatalogError(f"project {self.name!r} is closed: open it again")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Hold the handle's lock and an immediate transaction."""
        with self._lock, transaction(self._db) as conn:
            yield conn

    # ---------------------------------------------------------------- tiles

    def add_tile(self, tile: Tile, original_name: str, reference_mask: np.ndarray | None = None,
                 group: str | None = None, split: str | None = None, *, source: dict | None = None) -> str:
        """Store ``tile`` as a GeoTIFF under a new id and catalogue it; returns the id (uuid4 hex).

        ``original_name`` is kept as metadata only. ``reference_mask``: optional (H, W) ground
        truth (bool or 0/1), stored as PNG for evaluation, never shown as a user label.
        ``group``: free text; ``split``: None or train/val/test; ``source``: extra JSON metadata.
        """
        if split is not None and split not in SPLITS:
            raise CatalogError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        height, width = tile.image.shape[:2]
        ref_png = None
        if reference_mask is not None:
            ref_png = L.encode_png(L.validate_reference(reference_mask, (height, width)))
        meta = asdict(tile.meta) if is_dataclass(tile.meta) else {}
        source_json = to_json({**meta, **(source or {})}, "tile source metadata")
        valid = np.asarray(tile.valid, dtype=bool)
        nodata_fraction = float(1.0 - valid.mean()) if valid.size else 0.0
        crs = tile.crs.to_string() if tile.crs is not None else None
        bounds = json.dumps([float(v) for v in tile.bounds]) if tile.georeferenced and tile.bounds else None
        note = None if tile.georeferenced else (getattr(tile, "not_georeferenced_reason", None) or None)
        tile_id = uuid.uuid4().hex
        tile_path, ref_path = self._layout.tile_path(tile_id), self._layout.reference_path(tile_id)
        try:
            with self._write() as conn:
                write_tile_geotiff(tile_path, tile)
                if ref_png is not None:
                    atomic_write_bytes(ref_path, ref_png)
                conn.execute(
                    "INSERT INTO tiles (id, original_name, width, height, crs, bounds, georeferenced, georef_note, "
                    "nodata_fraction, tile_group, split, has_reference, source, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (tile_id, str(original_name), width, height, crs, bounds, int(bool(tile.georeferenced)), note,
                     nodata_fraction, group, split, int(ref_png is not None), source_json, utc_now()),
                )
        except BaseException:
            _remove(tile_path, ref_path)
            raise
        return tile_id

    def tiles(self) -> list[TileRecord]:
        """Every tile, in creation order."""
        with self._lock:
            return [TileRecord.from_row(r) for r in self._db.execute(f"{_TILE_SELECT} ORDER BY t.seq")]

    def tile(self, tile_id: str) -> TileRecord:
        """One tile's record; CatalogError if unknown."""
        check_tile_id(tile_id)
        with self._lock:
            row = self._db.execute(f"{_TILE_SELECT} WHERE t.id = ?", (tile_id,)).fetchone()
        if row is None:
            raise CatalogError(f"tile {tile_id} is not in project {self.name!r} (deleted?)")
        return TileRecord.from_row(row)

    def tile_path(self, tile_id: str) -> Path:
        """The stored GeoTIFF of a tile (CatalogError if unknown)."""
        self.tile(tile_id)
        return self._layout.tile_path(tile_id)

    def read(self, tile_id: str) -> Tile:
        """The stored tile (image, valid mask, georeferencing)."""
        return read_tile(self.tile_path(tile_id))

    def delete_tile(self, tile_id: str) -> None:
        """Remove a tile: its rows first (one transaction), then its files."""
        self.tile(tile_id)
        with self._write() as conn:
            conn.execute("DELETE FROM tiles WHERE id = ?", (tile_id,))  # labels go by ON DELETE CASCADE
        # after the commit the files are orphans; if we crash here, the next open removes them
        _remove(self._layout.tile_path(tile_id), self._layout.reference_path(tile_id),
                *self._layout.labels_dir.glob(f"{tile_id}-v*.png"), *self._layout.thumbs_dir.glob(f"{tile_id}-*.png"))

    # ---------------------------------------------------------------- labels

    def label_state(self, tile_id: str) -> LabelState:
        """Version, complete flag and fractions of a tile's label."""
        return self.tile(tile_id).label_state

    def load_label(self, tile_id: str) -> tuple[np.ndarray, int]:
        """(mask, version): (H, W) uint8 0/1/255 and its version (all 255 and 0 if never saved)."""
        for _attempt in range(5):
            record = self.tile(tile_id)
            if record.label_version == 0:
                return L.empty_label((record.height, record.width)), 0
            try:
                mask = L.decode_png(self._layout.label_path(tile_id, record.label_version),
                                    (record.height, record.width))
                return mask, record.label_version
            except CatalogError:
                # another handle may have committed a newer version and removed this file
                # between our two reads: read the row again
                if self.tile(tile_id).label_version == record.label_version:
                    raise
        raise CatalogError(f"label of tile {tile_id} keeps changing while being read: try again")

    def save_label(self, tile_id: str, mask: np.ndarray, base_version: int, complete: bool | None = None) -> int:
        """Save a label edited from version ``base_version``; returns the new version.

        ``mask``: (H, W) integers in {0, 1, 255}. ``complete``: None keeps the stored flag.
        StaleVersionError if the stored version is not ``base_version`` (someone saved since).
        The PNG of the new version is written atomically next to the old one; the database
        switches to it in one transaction; then the old file is removed.
        """
        record = self.tile(tile_id)
        mask = L.validate_label(mask, (record.height, record.width))
        png, fractions = L.encode_png(mask), L.label_fractions(mask)
        new_path = None
        try:
            with self._write() as conn:
                row = conn.execute("SELECT version, complete FROM labels WHERE tile_id = ?", (tile_id,)).fetchone()
                if conn.execute("SELECT 1 FROM tiles WHERE id = ?", (tile_id,)).fetchone() is None:
                    raise CatalogError(f"tile {tile_id} was deleted: its label cannot be saved")
                current = row["version"] if row else 0
                if int(base_version) != current:
                    raise StaleVersionError(
                        f"the label of {record.original_name} was saved elsewhere (version {current}, your edit "
                        f"started from {base_version}): reload it and redo your change")
                keep = bool(row["complete"]) if row else False
                new_version = current + 1
                new_path = self._layout.label_path(tile_id, new_version)
                atomic_write_bytes(new_path, png)
                upsert_label_row(conn, tile_id, new_version, keep if complete is None else bool(complete), fractions)
        except BaseException:
            if new_path is not None:
                _remove(new_path)
            raise
        if current > 0:
            _remove(self._layout.label_path(tile_id, current))
        return new_version

    def training_mask(self, tile_id: str) -> np.ndarray:
        """(H, W) uint8 0/1/255 for training: "complete" applied, no-data pixels set to 255."""
        mask, _version = self.load_label(tile_id)
        record = self.tile(tile_id)
        mask = L.apply_complete(mask, record.label_complete)
        if record.nodata_fraction > 0:
            mask = mask.copy()
            mask[~np.asarray(self.read(tile_id).valid, dtype=bool)] = L.UNLABELLED
        return mask

    def reference_mask(self, tile_id: str) -> np.ndarray | None:
        """The stored ground truth, (H, W) uint8 0/1, or None."""
        record = self.tile(tile_id)
        if not record.has_reference:
            return None
        return L.decode_png(self._layout.reference_path(tile_id), (record.height, record.width))

    def labelled_tile_ids(self) -> list[str]:
        """Tiles training can use: a saved label that is complete or has painted pixels."""
        with self._lock:
            rows = self._db.execute(
                "SELECT t.id FROM tiles t JOIN labels l ON l.tile_id = t.id "
                "WHERE l.complete OR l.labelled_fraction > 0 ORDER BY t.seq").fetchall()
        return [r[0] for r in rows]

    def thumbnail(self, tile_id: str, size: int = 128) -> Path:
        """A cached PNG preview fitting ``size`` x ``size`` px; made (atomically) if missing."""
        self.tile(tile_id)
        path = self._layout.thumb_path(tile_id, int(size))
        if not path.is_file():
            tile = self.read(tile_id)
            write_thumbnail(path, tile.image, tile.valid, int(size))
        return path

    # ---------------------------------------------------------------- runs

    def create_run(self, kind: RunKind | str, config: dict) -> tuple[str, Path]:
        """Register a run of ``kind`` asked to run with ``config``; returns (run id, its new empty folder
        ``runs/<id>/``). CatalogError on an unknown kind."""
        with self._write() as conn:
            return R.insert_run(conn, self._layout, kind, config)

    def update_run(self, run_id: str, status: str, metrics: dict | None = None) -> None:
        """Set a run's status (free text, e.g. running/done/failed) and, if given, replace its metrics."""
        with self._write() as conn:
            R.update_run(conn, run_id, status, metrics)

    def runs(self) -> list[RunRecord]:
        """Every run, oldest first (id, kind, status, config, metrics, created_at, updated_at, path)."""
        with self._lock:
            return R.list_runs(self._db, self._layout)

    def run(self, run_id: str) -> RunRecord:
        """One run as in :meth:`runs`; CatalogError if unknown."""
        with self._lock:
            return R.get_run(self._db, self._layout, run_id)

    # ---------------------------------------------------------------- settings

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A stored setting (JSON value), or ``default``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable setting (e.g. the active model)."""
        value_json = to_json(value, f"setting {key!r}")
        with self._write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value_json))
