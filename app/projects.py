"""Where projects live and how the app opens them (no Streamlit here, so it is testable alone)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.errors import CatalogError

REPO_ROOT = Path(__file__).resolve().parents[1]


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
        if record.label_version == 0:
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
    """Create a new empty project folder under ``root`` with a unique slug derived from ``name``."""
    name = name.strip()
    if not name:
        raise CatalogError("give the project a name")
    if len(name) > 120:
        raise CatalogError("project names are limited to 120 characters")
    root.mkdir(parents=True, exist_ok=True)
    base = slugify(name)
    slug, n = base, 2
    while (root / slug).exists():
        slug, n = f"{base}-{n}", n + 1
    with Project.create(root / slug, name) as project:
        return ProjectEntry(slug, project.name, project.root)
