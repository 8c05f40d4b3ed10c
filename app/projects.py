"""Where projects live and how the app opens them (no Streamlit here, so it is testable alone)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.errors import CatalogError

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_NAME_CHARS = 120


def projects_dir() -> Path:
    """The folder holding every project: ``$PGSSL_PROJECTS_DIR``, else ``<repo>/projects``."""
    return Path(os.environ.get("PGSSL_PROJECTS_DIR", REPO_ROOT / "projects")).resolve()


@dataclass(frozen=True)
class ProjectEntry:
    """A project folder found on disk: ``slug`` is its folder name (used in the URL)."""

    slug: str
    name: str
    path: Path


def list_projects(root: Path) -> list[ProjectEntry]:
    """Every project under ``root``, sorted by name; folders that are not projects are skipped."""
    entries = []
    if not root.is_dir():
        return entries
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            with Project.open(folder) as project:
                entries.append(ProjectEntry(folder.name, project.name, folder))
        except CatalogError:
            continue
    return sorted(entries, key=lambda e: e.name.lower())


#: The project picker lists at most this many projects (the current one always among them): a picker of
#: thousands is unusable. Projects past it stay reachable by their URL (``?project=<folder>``).
MAX_PROJECTS_LISTED = 200


def picker_entries(entries: list[ProjectEntry], current_slug: str,
                   limit: int = MAX_PROJECTS_LISTED) -> tuple[list[ProjectEntry], int]:
    """(the first ``limit`` entries, with the current project kept in; how many were left out)."""
    shown = entries[:limit]
    if current_slug not in {e.slug for e in shown}:
        shown = shown[:-1] + [e for e in entries if e.slug == current_slug] if shown else shown
    return shown, len(entries) - len(shown)


def picker_labels(entries: list[ProjectEntry]) -> dict[str, str]:
    """Slug -> the label the project picker shows: the name, plus the folder where two projects share a name.

    Streamlit's selectbox sends the chosen option back by its label, so two equal labels would make one
    of the projects impossible to pick.
    """
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.name.casefold()] = counts.get(entry.name.casefold(), 0) + 1
    return {e.slug: e.name if counts[e.name.casefold()] == 1 else f"{e.name} (folder {e.slug})" for e in entries}


@dataclass(frozen=True)
class TileCard:
    """What the gallery shows for one tile."""

    tile_id: str
    thumbnail: Path
    title: str
    caption: str


def tile_cards(project: Project, offset: int = 0, limit: int = 24) -> list[TileCard]:
    """Gallery cards for tiles ``offset`` .. ``offset + limit`` (thumbnails made on demand)."""
    cards = []
    for record in project.tiles()[offset:offset + limit]:
        if not record.label_state.trainable:  # never labelled, or every stroke cleared again
            label = "unlabelled"
        elif record.label_complete:
            label = "labelled (complete)"
        else:
            label = f"labelled {record.labelled_fraction:.0%}"
        geo = "georeferenced" if record.georeferenced else "not georeferenced"
        where = f"{record.group} · " if record.group else ""
        cards.append(TileCard(
            tile_id=record.id,
            thumbnail=project.thumbnail(record.id),
            title=record.original_name,
            caption=f"{where}{record.width}×{record.height} px · {geo} · {label}",
        ))
    return cards


def slugify(name: str) -> str:
    """A folder-safe slug (lowercase ASCII letters, digits and dashes) for a project name."""
    cleaned = "".join(ch.lower() if ch.isascii() and ch.isalnum() else "-" for ch in name.strip())
    slug = "-".join(part for part in cleaned.split("-") if part)
    return slug[:48] or "project"


def create_project(root: Path, name: str) -> ProjectEntry:
    """Create a new empty project folder under ``root`` with a unique slug derived from ``name``.

    Raises CatalogError for an empty or over-long name, or a name another project already has
    (compared without case), so the picker never shows two projects alike.
    """
    name = name.strip()
    if not name:
        raise CatalogError("give the project a name")
    if len(name) > MAX_NAME_CHARS:
        raise CatalogError(f"project names are limited to {MAX_NAME_CHARS} characters (this one has {len(name)})")
    taken = next((e for e in list_projects(root) if e.name.casefold() == name.casefold()), None)
    if taken is not None:
        raise CatalogError(f"a project named \"{taken.name}\" already exists (folder {taken.slug}): "
                           "choose another name or open it from the Project menu")
    root.mkdir(parents=True, exist_ok=True)
    base = slugify(name)
    slug, n = base, 2
    while (root / slug).exists():
        slug, n = f"{base}-{n}", n + 1
    with Project.create(root / slug, name) as project:
        return ProjectEntry(slug, project.name, project.root)
