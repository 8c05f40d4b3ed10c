"""The SQLite schema of a project catalog, connections and transactions.

Connections use WAL mode (readers never block the writer), a 30 s busy timeout, foreign keys
and autocommit mode, so that every write goes through :func:`transaction` (``BEGIN IMMEDIATE``:
the write lock is taken up front, which serialises writers across threads *and* processes).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pgssl_core.errors import CatalogError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE project_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- value is JSON
CREATE TABLE tiles (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,      -- creation order
    id TEXT NOT NULL UNIQUE,                    -- uuid4 hex, names the files
    original_name TEXT NOT NULL,                -- uploaded name: metadata only, never a path
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    crs TEXT,
    bounds TEXT,                                -- JSON [left, bottom, right, top] in CRS units
    georeferenced INTEGER NOT NULL,
    georef_note TEXT,                           -- why not georeferenced, if not
    nodata_fraction REAL NOT NULL,
    tile_group TEXT,
    split TEXT CHECK (split IS NULL OR split IN ('train', 'val', 'test')),
    has_reference INTEGER NOT NULL,
    source TEXT NOT NULL,                       -- JSON: source meta (driver, dtype, bands, offsets)
    created_at TEXT NOT NULL
);
CREATE TABLE labels (
    tile_id TEXT PRIMARY KEY REFERENCES tiles(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    complete INTEGER NOT NULL,
    labelled_fraction REAL NOT NULL,            -- share of pixels != 255
    building_fraction REAL NOT NULL,            -- share of pixels == 1
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,                       -- JSON
    metrics TEXT NOT NULL,                      -- JSON
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def connect(db_path: Path, create: bool = False) -> sqlite3.Connection:
    """Open the catalog database (WAL, foreign keys, autocommit); never creates it unless ``create``.

    The connection is made with ``check_same_thread=False``: the :class:`Project` that owns it
    guards every use with a lock, so a background import thread may share the handle.
    """
    mode = "rwc" if create else "rw"
    try:
        conn = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode={mode}", uri=True,
                               timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot open catalog {db_path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode; a crash never corrupts
    except sqlite3.Error as exc:
        conn.close()
        raise CatalogError(f"{db_path} is not a readable project catalog: {exc}") from exc
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any exception (including KeyboardInterrupt).

    SQLite errors (disk full, database locked for longer than the busy timeout...) come out as
    one-line ``CatalogError``s; other exceptions pass through unchanged after the rollback.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise CatalogError(f"the project is busy or unwritable ({exc}): try again in a moment") from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise CatalogError(f"project database error ({exc}): nothing was saved") from exc
        raise


def _statements(script: str) -> list[str]:
    """Split the schema script into statements (``executescript`` would commit implicitly)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def initialise(conn: sqlite3.Connection, info: dict[str, str]) -> None:
    """Create every table and the project info rows in one transaction (all or nothing)."""
    with transaction(conn):
        for statement in _statements(_SCHEMA):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.executemany("INSERT INTO project_info (key, value) VALUES (?, ?)", sorted(info.items()))


def check_version(conn: sqlite3.Connection, db_path: Path) -> None:
    """Refuse a database that is not a catalog, or one written by a newer version of the library."""
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{db_path} is not a project catalog ({exc})") from exc
    if row is None:
        raise CatalogError(f"{db_path} is not a project catalog (no schema version)")
    # SQLite writes whole pages, so a size that is not a whole number of them means the file was cut
    # short (a copy or a disk that failed); SQLite itself may not notice until it reads the missing part
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    size = Path(db_path).stat().st_size
    if page_size and size % page_size:
        raise CatalogError(f"{db_path} is truncated ({size:,} bytes is not a whole number of {page_size}-byte "
                           "pages): restore the project folder from a backup")
    if row["version"] > SCHEMA_VERSION:
        raise CatalogError(f"{db_path} was written by a newer pgssl (schema {row['version']} > "
                           f"{SCHEMA_VERSION}): upgrade pgssl to open it")


def utc_now() -> str:
    """ISO 8601 UTC timestamp with milliseconds, as stored in every ``*_at`` column."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def to_json(value: Any, what: str) -> str:
    """``value`` as JSON text for a column; CatalogError naming ``what`` if it cannot be encoded."""
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"{what} is not JSON-serialisable: {exc}") from exc
