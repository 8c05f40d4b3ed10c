"""Staging of browser uploads: untrusted names and zip archives made safe before import.

``UploadedFile.name`` is whatever the client sent, so a staged file gets a generated name and
only an allow-listed suffix; the client's name is kept for display. Zip archives are expanded
member by member with limits on count and total size (zip bombs) and without ever using a
member's path on disk (zip-slip).
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from pgssl_core.catalog.importer import IMAGE_SUFFIXES
from pgssl_core.io import atomic_write_bytes

MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3  # uncompressed


@dataclass(frozen=True)
class StagedFile:
    """One file ready for import: ``path`` is server-generated, ``display_name`` came from the client."""

    path: Path
    display_name: str


@dataclass(frozen=True)
class StagingProblem:
    """An upload (or zip member) refused before import, with a one-line reason."""

    display_name: str
    message: str


def _clean_display_name(name: str) -> str:
    """A printable base name for display only (never used as a path)."""
    base = PurePosixPath(name.replace("\\", "/")).name or "upload"
    return "".join(ch for ch in base if ch.isprintable())[:200] or "upload"


def _stage_bytes(data: bytes, display_name: str, staging_dir: Path) -> StagedFile:
    suffix = PurePosixPath(display_name).suffix.lower()
    path = staging_dir / f"{uuid.uuid4().hex}{suffix if suffix in IMAGE_SUFFIXES else '.bin'}"
    atomic_write_bytes(path, data)
    return StagedFile(path, display_name)


def _expand_zip(data: bytes, archive_name: str, staging_dir: Path) -> tuple[list[StagedFile], list[StagingProblem]]:
    staged: list[StagedFile] = []
    problems: list[StagingProblem] = []
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        return [], [StagingProblem(archive_name, "not a valid zip archive")]
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()
                   and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(m.filename).parts)]
        images = [m for m in members if PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES]
        if len(images) > MAX_ZIP_MEMBERS:
            return [], [StagingProblem(archive_name, f"zip holds {len(images)} images; the limit is {MAX_ZIP_MEMBERS}")]
        total = sum(m.file_size for m in images)
        if total > MAX_ZIP_TOTAL_BYTES:
            return [], [StagingProblem(archive_name, f"zip expands to {total / 1024**3:.1f} GB; the limit is "
                                                     f"{MAX_ZIP_TOTAL_BYTES / 1024**3:.0f} GB")]
        for member in images:
            display = f"{_clean_display_name(archive_name)}/{_clean_display_name(member.filename)}"
            try:
                staged.append(_stage_bytes(archive.read(member), display, staging_dir))
            except (zipfile.BadZipFile, RuntimeError, OSError, ValueError) as exc:  # corrupt or encrypted member
                problems.append(StagingProblem(display, f"cannot extract: {' '.join(str(exc).split())}"))
        if not images:
            problems.append(StagingProblem(archive_name, "zip holds no .tif/.png/.jpg/.webp files"))
    return staged, problems


def stage_uploads(uploads: Iterable[tuple[str, bytes]], staging_dir: Path
                  ) -> tuple[list[StagedFile], list[StagingProblem]]:
    """Write uploads (``(client name, bytes)`` pairs) under generated names in ``staging_dir``.

    Zip archives are expanded. Returns the staged files and the refused ones. The caller
    removes ``staging_dir`` after the import.
    """
    staging_dir.mkdir(parents=True, exist_ok=True)
    staged: list[StagedFile] = []
    problems: list[StagingProblem] = []
    for raw_name, data in uploads:
        name = _clean_display_name(raw_name)
        if not data:
            problems.append(StagingProblem(name, "empty file (0 bytes)"))
        elif data[:4] == b"PK\x03\x04":
            more, bad = _expand_zip(data, name, staging_dir)
            staged += more
            problems += bad
        else:
            staged.append(_stage_bytes(data, name, staging_dir))
    return staged, problems

