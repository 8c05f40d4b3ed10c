"""The app's background jobs (training, "predict all tiles", baselines): one registry per kind of job and
server process, shared by every browser tab.

A registry only remembers which jobs this process started; a job's state lives in its ``status.json``
(:mod:`pgssl_core.background`), so a run started by another process, or before a restart, is read from
disk. Only :func:`job_registry` touches Streamlit (``st.cache_resource``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from pgssl_core.background import BackgroundJob, read_status


@dataclass
class LiveJob:
    """A job started by this server process, for the catalog run ``run_id`` of the project at ``project_root``."""

    project_root: Path
    run_id: str
    job: BackgroundJob


class JobRegistry:
    """The jobs of one kind started by this server process, by run id."""

    def __init__(self) -> None:
        """An empty registry."""
        self._lock = threading.Lock()
        self.starting = threading.Lock()  # held while a job is being started (one start at a time)
        self._jobs: dict[str, LiveJob] = {}

    def active(self) -> LiveJob | None:
        """The job still running in this process, if any."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.job.alive), None)

    def get(self, run_id: str) -> LiveJob | None:
        """The job of ``run_id`` if this process started it (alive or finished)."""
        with self._lock:
            return self._jobs.get(run_id)

    def add(self, live: LiveJob) -> None:
        """Remember a started job."""
        with self._lock:
            self._jobs[live.run_id] = live

    def status(self, run: dict[str, Any]) -> dict[str, Any] | None:
        """The catalog run's status: the live snapshot when this process runs it, else its ``status.json``
        (a run whose process is gone reads as ``interrupted``); None if it never started."""
        live = self.get(run["id"])
        if live is not None and live.job.alive:
            return live.job.snapshot()
        return read_status(run["path"])


@st.cache_resource
def _registry(kind: str, scope: str) -> JobRegistry:
    return JobRegistry()


def job_registry(kind: str, scope: str = "") -> JobRegistry:
    """The registry of ``kind`` jobs of this server process (every tab and reload sees the same one).

    ``scope`` separates registries of one kind, e.g. training jobs per machine lock file.
    """
    return _registry(kind, scope)
