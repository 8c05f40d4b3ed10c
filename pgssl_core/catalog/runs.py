"""Run bookkeeping: one ``runs`` row and one folder ``runs/<run_id>/`` per training/inference run.

Functions take a connection inside the caller's transaction (see ``Project``), so the folder and
the row appear together: if the insert fails the folder is removed again.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from pgssl_core.catalog.layout import ProjectLayout
from pgssl_core.catalog.schema import to_json, utc_now
from pgssl_core.errors import CatalogError
from pgssl_core.io import atomic_write_json


def new_run_id() -> str:
    """``<yyyymmdd>-<hhmmss>-<6 hex>`` (UTC): sorts by start time, unique in practice."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def insert_run(conn: sqlite3.Connection, layout: ProjectLayout, kind: str, config: dict) -> tuple[str, Path]:
    """Create the run folder (with ``config.json``) and its row (status ``created``)."""
    if not str(kind).strip():
        raise CatalogError("a run needs a kind (e.g. 'train')")
    config_json = to_json(config, "run config")
    run_id = new_run_id()
    folder = layout.run_dir(run_id)
    try:
        folder.mkdir(parents=True)
        atomic_write_json(folder / "config.json", config)
        now = utc_now()
        conn.execute("INSERT INTO runs (id, kind, status, config, metrics, created_at, updated_at) "
                     "VALUES (?, ?, 'created', ?, '{}', ?, ?)", (run_id, str(kind), config_json, now, now))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return run_id, folder


def update_run(conn: sqlite3.Connection, run_id: str, status: str, metrics: dict | None) -> None:
    """Set the status and, unless ``metrics`` is None, replace the metrics; CatalogError if unknown."""
    metrics_json = None if metrics is None else to_json(metrics, "run metrics")
    cur = conn.execute("UPDATE runs SET status = ?, metrics = COALESCE(?, metrics), updated_at = ? WHERE id = ?",
                       (str(status), metrics_json, utc_now(), run_id))
    if cur.rowcount == 0:
        raise CatalogError(f"run {run_id!r} is not in this project")


def _as_dict(row: sqlite3.Row, layout: ProjectLayout) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "status": row["status"], "config": json.loads(row["config"]),
            "metrics": json.loads(row["metrics"]), "created_at": row["created_at"],
            "updated_at": row["updated_at"], "path": layout.run_dir(row["id"])}


def list_runs(conn: sqlite3.Connection, layout: ProjectLayout) -> list[dict[str, Any]]:
    """Every run, oldest first."""
    return [_as_dict(r, layout) for r in conn.execute("SELECT * FROM runs ORDER BY seq")]


def get_run(conn: sqlite3.Connection, layout: ProjectLayout, run_id: str) -> dict[str, Any]:
    """One run; CatalogError if unknown."""
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise CatalogError(f"run {run_id!r} is not in this project")
    return _as_dict(row, layout)
