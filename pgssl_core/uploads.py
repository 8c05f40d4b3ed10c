"""Staging of browser uploads: untrusted names and zip archives made safe before import.

``UploadedFile.name`` is whatever the client sent, so a staged file gets a generated name and
only an allow-listed suffix; the client's name is kept for display. Zip archives are expanded
member by member with limits on count and total size (zip bombs) and without ever using a
member's path on disk (zip-slip).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from pgssl_core.catalog import ImportResult, Project
from pgssl_core.catalog.importer import IMAGE_SUFFIXES
from pgssl_core.io import atomic_write_bytes

MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3  # uncompressed
# sidecar world files travel with their image inside a zip (see pgssl_core.tiles.georef)
WORLD_FILE_SUFFIXES = frozenset({".wld", ".pgw", ".pngw", ".jgw", ".jpgw", ".jpegw", ".tfw", ".tifw", ".wpw", ".prj"})


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
    """A printable base name for display only."""
    base = PurePosixPath(name.replace("\\", "/")).name or "upload"
    return "".join(ch for ch in base if ch.isprintable())[:200] or "upload"


def _safe_parts(name: str, keep: int = 3) -> list[str]:
    """The last ``keep`` path parts of ``name`` reduced to ``[A-Za-z0-9._-]`` (no ``..``, no hidden names).

    Kept so that georeferencing from the name still works (``z/x/y.png`` or ``...-x-y-z.png``
    tile addresses, world files beside their image), while the path on disk stays ours.
    """
    parts = []
    for part in PurePosixPath(name.replace("\\", "/")).parts:
        clean = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in part).lstrip(".")
        if clean and clean not in ("_", "__MACOSX"):
            parts.append(clean[:100])
    return parts[-keep:] or ["upload"]


def _stage_bytes(data: bytes, name: str, folder: Path) -> Path:
    """Write ``data`` under ``folder`` at the sanitised form of ``name``; returns the path."""
    parts = _safe_parts(name)
    suffix = PurePosixPath(parts[-1]).suffix.lower()
    if suffix not in IMAGE_SUFFIXES | WORLD_FILE_SUFFIXES:
        parts[-1] = f"{parts[-1]}.bin"  # never let an unexpected suffix pick a reader
    path = folder.joinpath(*parts)
    atomic_write_bytes(path, data)
    return path


def _new_folder(staging_dir: Path) -> Path:
    folder = staging_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def _expand_zip(data: bytes, archive_name: str, staging_dir: Path) -> tuple[list[StagedFile], list[StagingProblem]]:
    staged: list[StagedFile] = []
    problems: list[StagingProblem] = []
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        return [], [StagingProblem(archive_name, "not a valid zip archive")]
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename
                   and not PurePosixPath(m.filename).name.startswith(".")]
        images = [m for m in members if PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES]
        sidecars = [m for m in members if PurePosixPath(m.filename).suffix.lower() in WORLD_FILE_SUFFIXES]
        if len(images) > MAX_ZIP_MEMBERS:
            return [], [StagingProblem(archive_name, f"zip holds {len(images)} images; the limit is {MAX_ZIP_MEMBERS}")]
        total = sum(m.file_size for m in images + sidecars)
        if total > MAX_ZIP_TOTAL_BYTES:
            return [], [StagingProblem(archive_name, f"zip expands to {total / 1024**3:.1f} GB; the limit is "
                                                     f"{MAX_ZIP_TOTAL_BYTES / 1024**3:.0f} GB")]
        if not images:
            return [], [StagingProblem(archive_name, "zip holds no .tif/.png/.jpg/.webp files")]
        folder = _new_folder(staging_dir)
        for member in sidecars + images:  # world files first, so they sit beside their image
            display = f"{_clean_display_name(archive_name)}/{_clean_display_name(member.filename)}"
            try:
                path = _stage_bytes(archive.read(member), member.filename, folder)
            except (zipfile.BadZipFile, RuntimeError, OSError, ValueError) as exc:  # corrupt or encrypted member
                problems.append(StagingProblem(display, f"cannot extract: {' '.join(str(exc).split())}"))
                continue
            if member in images:
                staged.append(StagedFile(path, display))
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
            staged.append(StagedFile(_stage_bytes(data, name, _new_folder(staging_dir)), name))
    return staged, problems



def import_uploads(project: Project, uploads: Iterable[tuple[str, bytes]], tile_size: int = 512,
                   progress: Callable[[int, int, ImportResult], None] | None = None) -> list[ImportResult]:
    """Stage and import browser uploads; one result per file (zip members count as files).

    Refused uploads come back as ``status="error"`` results with their reason; nothing is
    half-imported. The staging folder lives inside the project (same file system, removed after).
    """
    staging_root = project.root / "staging"
    staging_root.mkdir(exist_ok=True)
    staging_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=staging_root))
    try:
        staged, problems = stage_uploads(uploads, staging_dir)
        results = [ImportResult(p.display_name, "error", [], p.message) for p in problems]
        total = len(staged) + len(results)
        for done, item in enumerate(staged, start=len(results) + 1):
            result = project.import_file(item.path, tile_size=tile_size, display_name=item.display_name)
            results.append(result)
            if progress is not None:
                progress(done, total, result)
        return results
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
