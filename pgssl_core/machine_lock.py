"""The machine-wide training lock: one training run at a time per machine, app or command line.

``fcntl.flock`` on a lock file: the lock belongs to the open file, so it excludes a second run in this
process and in any other process, and the kernel drops it when a process dies (no stale lock to clean).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pgssl_core.errors import PgsslError

#: Environment variable naming the lock file (tests and e2e runs use a private one).
LOCK_ENV = "PGSSL_TRAIN_LOCK"


class JobBusyError(PgsslError):
    """Another training job holds the machine."""


def train_lock_path() -> Path:
    """The lock file: ``$PGSSL_TRAIN_LOCK`` when set (read at each call), else ``~/.cache/pgssl/train.lock``."""
    return Path(os.environ.get(LOCK_ENV, Path.home() / ".cache" / "pgssl" / "train.lock"))


def acquire_machine_lock(path: str | Path | None = None) -> int:
    """Take the machine-wide training lock without waiting.

    Args:
        path: the lock file; default :func:`train_lock_path`.

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
    return fd


def release_machine_lock(fd: int) -> None:
    """Release a lock taken by :func:`acquire_machine_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def machine_is_free(path: str | Path | None = None) -> None:
    """Raise :class:`JobBusyError` when another training job holds the lock; otherwise return at once."""
    release_machine_lock(acquire_machine_lock(path))
