"""The machine-wide training lock: one training run at a time per machine, app or command line.

``fcntl.flock`` on a lock file: the lock belongs to the open file, so it excludes a second run in this
process and in any other process, and the kernel drops it when a process dies (no stale lock to clean).
The holder writes who it is into the file (command, run folder, process id, since when) so that a refused
app or command can say which job holds the machine (:func:`lock_holder`); the content is only believed
while the lock is held, so a holder that died leaves nothing misleading.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pgssl_core.errors import PgsslError

#: Environment variable naming the lock file (tests and e2e runs use a private one).
LOCK_ENV = "PGSSL_TRAIN_LOCK"


class JobBusyError(PgsslError):
    """Another training job holds the machine."""


def train_lock_path() -> Path:
    """The lock file: ``$PGSSL_TRAIN_LOCK`` when set (read at each call), else ``~/.cache/pgssl/train.lock``."""
    return Path(os.environ.get(LOCK_ENV, Path.home() / ".cache" / "pgssl" / "train.lock"))


def acquire_machine_lock(path: str | Path | None = None, run_dir: str | Path | None = None) -> int:
    """Take the machine-wide training lock without waiting and write who holds it into the lock file.

    Args:
        path: the lock file; default :func:`train_lock_path`.
        run_dir: the run folder of the job that takes it (shown to whoever is refused), if known.

    Returns:
        The file descriptor to pass to :func:`release_machine_lock`.

    Raises:
        JobBusyError: another training job, of the app or of the CLI, in any process, holds it (one line).
    """
    lock = Path(path) if path is not None else train_lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JobBusyError("another training job is running on this machine; wait for it or cancel it") from None
    holder = {"pid": os.getpid(), "command": " ".join(sys.argv) or sys.executable,
              "run_dir": str(run_dir) if run_dir is not None else None, "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
    return fd


def release_machine_lock(fd: int) -> None:
    """Release a lock taken by :func:`acquire_machine_lock` (its holder note is cleared first)."""
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def machine_is_free(path: str | Path | None = None) -> None:
    """Raise :class:`JobBusyError` when another training job holds the lock; otherwise return at once."""
    release_machine_lock(acquire_machine_lock(path))


def lock_holder(path: str | Path | None = None) -> dict[str, Any] | None:
    """Who holds the training lock: ``pid``, ``command`` (the holder's command line), ``run_dir`` (or None)
    and ``since`` (Unix seconds), as the holder wrote them; ``{}`` when it is held by a writer of an older
    version or by a process that wrote no note (a note whose process is gone is not believed); None when the lock
    is free."""
    lock = Path(path) if path is not None else train_lock_path()
    if not lock.is_file():
        return None
    try:
        machine_is_free(lock)
        return None
    except JobBusyError:
        pass
    try:
        holder = json.loads(lock.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    if not isinstance(holder, dict):
        return {}
    # a holder killed outright leaves its note behind; whoever holds the lock now wrote none (e.g. `flock`)
    return holder if _alive(holder.get("pid")) else {}


def _alive(pid: Any) -> bool:
    """Whether a process with this id exists on this machine (signal 0 tests without sending anything)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
