"""Run bookkeeping: one ``runs`` row and one folder ``runs/<run_id>/`` per run (:class:`RunRecord`).

Functions take a connection inside the caller's transaction (see ``Project``), so the folder and
the row appear together: if the insert fails the folder is removed again.

The row is the catalog's record of a run (its kind, status, the config it was asked to run with, the
metrics filed when it ended); the folder belongs to the job: the catalog creates it empty and writes no file
into it, so every file there has one writer (a training run writes ``config.json``, its run card). Projects
made before this kept the row's config in ``config.json`` too, until training replaced it with the run
card; readers of a run card check that it is one (``report.gather.run_info``).
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import time
from pathlib import Path

from pgssl_core.catalog.layout import ProjectLayout
from pgssl_core.catalog.records import RunKind, RunRecord
from pgssl_core.catalog.schema import to_json, utc_now
from pgssl_core.errors import CatalogError


def new_run_id() -> str:
    """``<yyyymmdd>-<hhmmss>-<6 hex>`` (UTC): sorts by start time, unique in practice."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def run_kind(kind: str) -> RunKind:
    """``kind`` as a :class:`RunKind`; CatalogError naming the kinds when it is none of them."""
    try:
        return RunKind(kind)
    except ValueError:
        raise CatalogError(f"unknown run kind {kind!r}; choose one of {', '.join(RunKind)}") from None


def insert_run(conn: sqlite3.Connection, layout: ProjectLayout, kind: RunKind | str, config: dict) -> tuple[str, Path]:
    """Create the (empty) run folder and its row (status ``created``); CatalogError on an unknown kind or a
    config that is not JSON."""
    kind = run_kind(kind)
    config_json = to_json(config, "run config")
    run_id = new_run_id()
    folder = layout.run_dir(run_id)
    try:
        folder.mkdir(parents=True)
        now = utc_now()
        conn.execute("INSERT INTO runs (id, kind, status, config, metrics, created_at, updated_at) "
                     "VALUES (?, ?, 'created', ?, '{}', ?, ?)", (run_id, kind.value, config_json, now, now))
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


def list_runs(conn: sqlite3.Connection, layout: ProjectLayout) -> list[RunRecord]:
    """Every run, oldest first."""
    return [RunRecord.from_row(r, layout.run_dir(r["id"])) for r in conn.execute("SELECT * FROM runs ORDER BY seq")]


def get_run(conn: sqlite3.Connection, layout: ProjectLayout, run_id: str) -> RunRecord:
    """One run; CatalogError if unknown."""
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise CatalogError(f"run {run_id!r} is not in this project")
    return RunRecord.from_row(row, layout.run_dir(row["id"]))
