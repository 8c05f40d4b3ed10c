"""Staging of browser uploads: untrusted names and zip archives made safe before import.

``UploadedFile.name`` is whatever the client sent, so a staged file gets a generated name and
only an allow-listed suffix; the client's name is kept for display. Zip archives are expanded
member by member with limits on count and total size (zip bombs) and without ever using a
member's path on disk (zip-slip).
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from pgssl_core.catalog import ImportResult, Project, import_file
from pgssl_core.io import atomic_write, atomic_write_bytes
from pgssl_core.tiles.formats import IMAGE_SUFFIXES

# Limits of one uploaded zip archive (documented in docs/RELIABILITY.md). Entries of every kind count, so
# that thousands of sidecars or junk names cannot slip past the image count.
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3  # uncompressed, counted while extracting (headers can lie)
#: Largest expansion ratio (uncompressed / compressed) of an archive that expands to more than
#: ``ZIP_RATIO_FLOOR_BYTES``: imagery compresses a few times at most; a zip bomb by 1,000 times and more.
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR_BYTES = 64 * 1024**2
_COPY_CHUNK = 1024**2  # members are streamed to disk in chunks, never read whole into memory
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


def _staged_path(name: str, folder: Path) -> Path:
    """Where the sanitised form of ``name`` goes under ``folder``."""
    parts = _safe_parts(name)
    suffix = PurePosixPath(parts[-1]).suffix.lower()
    if suffix not in IMAGE_SUFFIXES and suffix not in WORLD_FILE_SUFFIXES:
        parts[-1] = f"{parts[-1]}.bin"  # never let an unexpected suffix pick a reader
    return folder.joinpath(*parts)


def _stage_bytes(data: bytes, name: str, folder: Path) -> Path:
    """Write ``data`` under ``folder`` at the sanitised form of ``name``; returns the path."""
    path = _staged_path(name, folder)
    atomic_write_bytes(path, data)
    return path


class _ZipLimitError(ValueError):
    """An archive went past a limit while it was being extracted."""


def _extract_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, budget: list[int]) -> None:
    """Stream ``member`` to ``path`` in chunks; ``budget[0]`` is the bytes the archive may still expand to."""
    with archive.open(member) as source, atomic_write(path, "wb") as target:
        while chunk := source.read(_COPY_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _ZipLimitError(f"expands past the {MAX_ZIP_TOTAL_BYTES / 1024**3:.0f} GB limit")
            target.write(chunk)


def _is_symlink(member: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(member.external_attr >> 16)


def _zip_limit_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why the archive is refused before extraction (entry count, declared size, ratio), or None."""
    if len(members) > MAX_ZIP_MEMBERS:
        return f"zip holds {len(members):,} entries; the limit is {MAX_ZIP_MEMBERS:,} (MAX_ZIP_MEMBERS)"
    total = sum(m.file_size for m in members)
    if total > MAX_ZIP_TOTAL_BYTES:
        return (f"zip expands to {total / 1024**3:.1f} GB; the limit is {MAX_ZIP_TOTAL_BYTES / 1024**3:.0f} GB "
                "(MAX_ZIP_TOTAL_BYTES)")
    packed = sum(m.compress_size for m in members)
    if total > ZIP_RATIO_FLOOR_BYTES and total > MAX_ZIP_RATIO * max(packed, 1):
        return (f"zip expands {total / max(packed, 1):,.0f} times ({total / 1024**2:,.0f} MB); the limit is "
                f"{MAX_ZIP_RATIO} times (MAX_ZIP_RATIO): refused as a possible zip bomb")
    return None


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
        entries = archive.infolist()
        limit = _zip_limit_problem(entries)
        if limit is not None:
            return [], [StagingProblem(archive_name, limit)]
        members = [m for m in entries if not m.is_dir() and "__MACOSX" not in m.filename
                   and not PurePosixPath(m.filename).name.startswith(".")]
        images = [m for m in members if PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES]
        sidecars = [m for m in members if PurePosixPath(m.filename).suffix.lower() in WORLD_FILE_SUFFIXES]
        nested = [m for m in members if PurePosixPath(m.filename).suffix.lower() == ".zip"]
        for member in nested:
            problems.append(StagingProblem(f"{_clean_display_name(archive_name)}/{_clean_display_name(member.filename)}",
                                           "zip inside a zip is not expanded: unzip it and upload its contents"))
        if not images:
            return [], problems or [StagingProblem(archive_name, "zip holds no .tif/.png/.jpg/.webp files")]
        folder = _new_folder(staging_dir)
        budget = [MAX_ZIP_TOTAL_BYTES]
        for member in sidecars + images:  # world files first, so they sit beside their image
            display = f"{_clean_display_name(archive_name)}/{_clean_display_name(member.filename)}"
            path = _staged_path(member.filename, folder)
            if _is_symlink(member):
                problems.append(StagingProblem(display, "symbolic link in the zip: links are never followed"))
                continue
            if path.exists():  # same name twice (after sanitising): never overwrite the first one
                problems.append(StagingProblem(display, "the zip holds this name twice: only the first was kept"))
                continue
            try:
                _extract_member(archive, member, path, budget)
            except _ZipLimitError as exc:  # the headers lied about the sizes: refuse the whole archive
                return [], [StagingProblem(archive_name, f"zip {exc} (MAX_ZIP_TOTAL_BYTES): nothing imported")]
            except (zipfile.BadZipFile, RuntimeError, OSError, ValueError, EOFError) as exc:  # corrupt or encrypted
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
            result = import_file(project, item.path, tile_size=tile_size, display_name=item.display_name)
            results.append(result)
            if progress is not None:
                progress(done, total, result)
        return results
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)


def import_summary(results: Iterable[ImportResult]) -> str:
    """One line for the banner after an import: tiles added (a large raster adds several), files refused,
    e.g. "24 added, 0 refused (1 file split into 24 tiles)"."""
    results = list(results)
    stored = [r for r in results if r.ok]
    tiles = sum(len(r.tile_ids) for r in stored)
    text = f"{tiles} added, {len(results) - len(stored)} refused"
    split = [r for r in stored if len(r.tile_ids) > 1]
    if split:
        parts = sum(len(r.tile_ids) for r in split)
        text += f" ({len(split)} file{'s' if len(split) != 1 else ''} split into {parts} tiles)"
    return text
