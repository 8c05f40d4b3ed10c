"""Background jobs with their status on disk, shared by training and "predict all tiles".

A job runs :meth:`BackgroundJob.work` on a daemon thread. Its status (``state``: queued, running,
done, failed, cancelled, interrupted; ``error``; ``pid``; times; the latest ``progress``) lives in a
thread-safe dict that the app polls with :meth:`BackgroundJob.snapshot`, and in
``RUN_DIR/status.json`` (rewritten atomically, throttled) so that a reload, a second tab or a new
server process finds it again with :func:`read_status`. No Streamlit here: threads never call it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")

_LIVE: set[str] = set()  # run folders with a job thread alive in this process


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's status (None if it has none).

    A queued/running state whose process is dead, or whose thread is no longer registered in this
    process, is reported as ``interrupted``: the job can be started again to resume.
    """
    path = Path(run_dir) / "status.json"
    if not path.is_file():
        return None
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if status.get("state") in ("queued", "running"):
        pid = int(status.get("pid", -1))
        dead = not _pid_alive(pid) if pid > 0 else True
        orphan = pid == os.getpid() and str(Path(run_dir).resolve()) not in _LIVE
        if dead or orphan:
            status["state"] = "interrupted"
            status["error"] = status.get("error") or "the process stopped unexpectedly; resume to continue"
    return status


class BackgroundJob:
    """Subclasses implement :meth:`work` (returning extra fields for the "done" status) and may
    override :meth:`before_start`, :meth:`after_end` and :attr:`cancelled_errors`."""

    #: exceptions that mean "stopped on request" rather than "failed"
    cancelled_errors: tuple[type[BaseException], ...] = ()
    #: thread name prefix, for debuggers and py-spy
    kind = "job"

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._cancel = threading.Event()
        self._status_lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._last_write = 0.0
        self._end_callbacks: list[Callable[[dict[str, Any]], None]] = []

    def on_end(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(status)`` on the worker thread once the job has ended (after :meth:`after_end`),
        with the final status as :meth:`snapshot` gives it. Register before :meth:`start`; the owner of a job's
        catalog row (:mod:`pgssl_core.project.run_jobs`) files the result this way."""
        self._end_callbacks.append(callback)

    # --- hooks -------------------------------------------------------------------------------
    def work(self) -> dict[str, Any]:
        """Do the job's work on the job thread (subclasses implement it).

        Returns:
            Extra fields merged into the ``done`` status.

        Raises:
            NotImplementedError: always, in the base class.
        """
        raise NotImplementedError

    def before_start(self) -> None:
        """Runs in the caller's thread before anything is written (e.g. take a lock)."""

    def initial_fields(self) -> dict[str, Any]:
        """Extra fields of the first ("queued") status."""
        return {}

    def after_end(self, final: dict[str, Any]) -> None:
        """Runs on the worker thread once the final status is written (e.g. release a lock)."""

    # --- machinery ---------------------------------------------------------------------------
    def _write(self, force: bool = False, **fields: Any) -> None:
        with self._status_lock:
            self._status.update(fields)
            now = time.time()
            if force or now - self._last_write > 1.0:  # throttle: progress may arrive every step
                self._last_write = now
                atomic_write_json(self.run_dir / "status.json", self._status)

    def start(self) -> BackgroundJob:
        """Start the worker thread (after :meth:`before_start`, which may refuse)."""
        self.before_start()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _LIVE.add(str(self.run_dir.resolve()))
        fields = {"state": "queued", "error": None, "pid": os.getpid(), "created": time.time(), "progress": None}
        self._write(force=True, **{**fields, **self.initial_fields()})
        self._thread = threading.Thread(target=self._run, name=f"pgssl-{self.kind}-{self.run_dir.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        final: dict[str, Any] = {}
        try:
            self._write(force=True, state="running", started=time.time())
            final = {"state": "done", **self.work()}
        except self.cancelled_errors as exc:
            final = {"state": "cancelled", "error": str(exc)}
        except PgsslError as exc:
            final = {"state": "failed", "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a worker must report, not die silently
            final = {"state": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                     "traceback": traceback.format_exc()}
        finally:
            try:
                self._write(force=True, ended=time.time(), **final)
            except OSError as exc:  # e.g. a full disk: the snapshot still has the final state, and the
                with self._status_lock:  # lock below must be released whatever happens to status.json
                    self._status["status_file_error"] = str(exc)
            _LIVE.discard(str(self.run_dir.resolve()))
            try:
                self.after_end(final)
            finally:
                for callback in self._end_callbacks:
                    callback(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """A copy of the current status (thread-safe)."""
        with self._status_lock:
            return dict(self._status)

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the job thread to end (at most ``timeout`` seconds; None waits forever).

        Returns:
            The status snapshot after waiting, as :meth:`snapshot` gives it.
        """
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    @property
    def alive(self) -> bool:
        """True while the job thread is running."""
        return self._thread is not None and self._thread.is_alive()
