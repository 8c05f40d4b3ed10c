"""Crash recovery on open: remove temp files and files that no database row owns.

Why this is safe with several processes on one project: every write into ``tiles/``,
``labels/`` and ``reference/`` happens while the writer holds the SQLite write lock (the file is
written inside its ``BEGIN IMMEDIATE`` transaction). Recovery re-checks its candidates while
holding that lock too, so a file it sees without a row belongs to a writer that died. Thumbnails
are a cache written without the lock: only their *old* temp files are removed.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from pgssl_core.catalog.layout import LABEL_FILE_RE, PLAIN_FILE_RE, THUMB_FILE_RE, ProjectLayout
from pgssl_core.catalog.schema import transaction

THUMB_TEMP_MAX_AGE_S = 600.0


def _is_temp(path: Path) -> bool:
    # atomic_write / atomic_write_with temp names start with a dot
    return path.name.startswith(".")


def _orphans(conn: sqlite3.Connection, layout: ProjectLayout, now: float) -> list[Path]:
    """Files in the data folders that are temp leftovers or have no owning row."""
    tile_ids = {r[0] for r in conn.execute("SELECT id FROM tiles")}
    with_reference = {r[0] for r in conn.execute("SELECT id FROM tiles WHERE has_reference")}
    labels = {(r[0], r[1]) for r in conn.execute("SELECT tile_id, version FROM labels")}
    found: list[Path] = []
    for folder in layout.data_dirs():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.is_file():
                continue
            if _is_temp(path):
                if folder != layout.thumbs_dir:
                    found.append(path)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        if now - path.stat().st_mtime > THUMB_TEMP_MAX_AGE_S:
                            found.append(path)
                continue
            if folder == layout.labels_dir:
                m = LABEL_FILE_RE.match(path.name)
                owned = m is None or (m["id"], int(m["version"])) in labels
            elif folder == layout.thumbs_dir:
                m = THUMB_FILE_RE.match(path.name)
                owned = m is None or m["id"] in tile_ids
            else:
                m = PLAIN_FILE_RE.match(path.name)
                owners = with_reference if folder == layout.reference_dir else tile_ids
                owned = m is None or m["id"] in owners  # files we do not recognise are left alone
            if not owned:
                found.append(path)
    return found


def recover(conn: sqlite3.Connection, layout: ProjectLayout) -> list[Path]:
    """Remove leftovers of interrupted writes; returns the removed paths (usually none).

    A cheap scan without the lock comes first so that a clean project never takes the write lock.
    """
    if not _orphans(conn, layout, time.time()):
        return []
    removed = []
    with transaction(conn):
        for path in _orphans(conn, layout, time.time()):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
