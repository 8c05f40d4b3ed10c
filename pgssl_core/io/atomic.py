"""Atomic file writes: temp file in the same folder, fsync, rename, fsync of the folder.

A reader sees either the old file or the complete new one, never a half-written file, even if
the process is killed mid-write (the rename is atomic on POSIX file systems).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from pgssl_core.errors import PgsslError


class StorageError(PgsslError, OSError):
    """A file could not be written (disk full, read-only, quota...): one line, the old file intact.

    Also an ``OSError`` (same ``errno``), so callers that catch ``OSError`` keep working.
    """


#: errno values that mean "the disk refused the write" (reported as :class:`StorageError`)
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG})


#: how libraries that write files themselves (GDAL, SQLite via pyogrio) word a full disk
_DISK_FULL_WORDS = ("no space left on device", "disk is full", "disk full")


def _says_disk_full(exc: BaseException) -> bool:
    """True for a library's exception (no errno) whose message says the disk is full."""
    if isinstance(exc, StorageError) or not isinstance(exc, Exception):
        return False
    text = str(exc).lower()
    return any(words in text for words in _DISK_FULL_WORDS)


def _storage_error(target: Path, exc: OSError) -> StorageError:
    """A one-line :class:`StorageError` for a failed write of ``target``."""
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        message = f"disk full: could not save {target.name} ({reason}); the previous version is kept, free some space"
    else:
        message = f"could not save {target.name} ({reason}); the previous version is kept"
    error = StorageError(message)
    error.errno = exc.errno
    return error


def _default_mode() -> int:
    """Permissions a plain ``open()`` would give (0666 minus the umask); mkstemp's 0600 is too strict."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    """Persist a rename by syncing the directory entry (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temp_beside(target: Path, prefix: str, suffix: str) -> Iterator[Path]:
    """A fresh temporary path in ``target``'s folder; on success it replaces ``target`` atomically.

    The body must leave the complete file at the yielded path; it is fsynced, given normal
    permissions and renamed. On an exception the temporary file is removed, ``target`` untouched.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        os.close(fd)
    except OSError as exc:
        if exc.errno in WRITE_FAILURES:
            raise _storage_error(target, exc) from exc
        raise
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())  # a full disk may only show here (delayed allocation)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        # only failures of the disk itself; a library's read error or a missing input stays what it is
        if isinstance(exc, OSError) and exc.errno in WRITE_FAILURES and not isinstance(exc, StorageError):
            raise _storage_error(target, exc) from exc
        if _says_disk_full(exc):  # GDAL, SQLite (GeoPackage) and pyogrio report it in their own words
            raise _storage_error(target, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) from exc
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on a clean exit it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    with _temp_beside(target, f".{target.name}.", ".tmp") as tmp, open(tmp, mode) as handle:
        yield handle


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Atomically produce ``path`` with a library that insists on writing to a file name itself.

    ``writer`` receives a temporary path in the same folder (same suffix as ``path``, so format
    drivers that look at the extension still work) and must write the whole file there.
    """
    target = Path(path)
    with _temp_beside(target, f".{target.stem}.", target.suffix) as tmp:
        tmp.unlink()  # let the writer create it; some drivers refuse to overwrite
        writer(tmp)
