"""Background training jobs for the app: one at a time per machine, status on disk.

- A machine-wide lock (``fcntl.flock`` on a lock file) is held for the job's lifetime; it excludes
  a second job in this process and in any other process (flock locks belong to the open file).
- ``RUN_DIR/status.json`` holds ``state`` (queued/running/done/failed/cancelled/interrupted), ``error``,
  ``pid``, times and the latest progress snapshot; it is rewritten atomically.
- :func:`read_status` reports a "running"/"queued" run whose owning process is gone as "interrupted";
  such a run can be started again with ``resume=True``.
No Streamlit here: the app polls :meth:`TrainingJob.snapshot` or :func:`read_status`.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json
from pgssl_core.train.data import TrainingData
from pgssl_core.train.loop import TrainingCancelled
from pgssl_core.train.rounds import TrainConfig, run_training

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
DEFAULT_LOCK = Path(os.environ.get("PGSSL_TRAIN_LOCK", Path.home() / ".cache" / "pgssl" / "train.lock"))


class JobBusyError(PgsslError):
    """Another training job holds the machine."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's status (None if it has none). A live-looking state whose process is dead, or whose
    job thread is no longer registered in this process, is reported as ``interrupted``."""
    import json

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
            status.setdefault("error", None)
            status["error"] = status["error"] or "the training process stopped unexpectedly; resume to continue"
    return status


_LIVE: set[str] = set()  # run folders with a job thread alive in this process


class TrainingJob:
    """One training run on a background thread. Create, :meth:`start`, poll :meth:`snapshot`,
    :meth:`cancel`, :meth:`join`."""

    def __init__(self, data: TrainingData, config: TrainConfig, run_dir: str | Path, resume: bool = False,
                 lock_path: str | Path = DEFAULT_LOCK) -> None:
        self.data, self.config, self.resume = data, config, resume
        self.run_dir = Path(run_dir)
        self.lock_path = Path(lock_path)
        self._cancel = threading.Event()
        self._status_lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._lock_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._last_write = 0.0

    def _acquire(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JobBusyError("another training job is running on this machine; wait for it or cancel it") from None
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _write(self, force: bool = False, **fields: Any) -> None:
        with self._status_lock:
            self._status.update(fields)
            now = time.time()
            if force or now - self._last_write > 1.0:  # throttle: progress events arrive every step
                self._last_write = now
                atomic_write_json(self.run_dir / "status.json", self._status)

    def start(self) -> TrainingJob:
        """Take the machine lock (raises :class:`JobBusyError` if held) and start the thread."""
        self._acquire()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _LIVE.add(str(self.run_dir.resolve()))
        self._write(force=True, state="queued", error=None, pid=os.getpid(), created=time.time(),
                    method=self.config.method, profile=self.config.profile, progress=None)
        self._thread = threading.Thread(target=self._run, name=f"pgssl-train-{self.run_dir.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._write(force=True, state="running", started=time.time())
            result = run_training(self.data, self.config, self.run_dir, progress=self._on_progress,
                                  cancel=self._cancel.is_set, resume=self.resume)
            self._write(force=True, state="done", ended=time.time(), model=str(result.model_path),
                        val=result.final_val)
        except TrainingCancelled as exc:
            self._write(force=True, state="cancelled", ended=time.time(), error=str(exc))
        except PgsslError as exc:
            self._write(force=True, state="failed", ended=time.time(), error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a worker must report, not die silently
            self._write(force=True, state="failed", ended=time.time(),
                        error=f"{type(exc).__name__}: {exc}".splitlines()[0], traceback=traceback.format_exc())
        finally:
            _LIVE.discard(str(self.run_dir.resolve()))
            self._release()

    def _on_progress(self, event: dict[str, Any]) -> None:
        if event.get("kind") in ("step", "val", "stage"):
            self._write(force=event.get("kind") != "step", progress=event)

    def snapshot(self) -> dict[str, Any]:
        """A copy of the current status (thread-safe)."""
        with self._status_lock:
            return dict(self._status)

    def cancel(self) -> None:
        """Ask the run to stop before its next step (it checkpoints first)."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> dict[str, Any]:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
