"""Resources shared by every page: the projects folder, the default projects, the open project."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import session
from app.projects import ProjectEntry, list_projects, projects_dir
from pgssl_core.catalog import Project
from pgssl_core.demo.projects import ensure_default_projects


@st.cache_resource(show_spinner="Preparing the demo projects (first start only)…")
def default_projects_ready(root: str) -> list[str]:
    """Create the Beijing demo and the real sample under ``root`` once per server process."""
    return [str(p) for p in ensure_default_projects(Path(root))]


def available_projects() -> list[ProjectEntry]:
    """The projects of the projects folder (the default ones created on first use)."""
    root = projects_dir()
    default_projects_ready(str(root))
    return list_projects(root)


def current_project_entry() -> ProjectEntry | None:
    """The project named in the URL, else the first one (and the URL is updated to say so)."""
    entries = available_projects()
    if not entries:
        return None
    slug = session.current_project_slug()
    chosen = next((e for e in entries if e.slug == slug), None)
    if chosen is None:
        chosen = next((e for e in entries if "beijing" in e.slug), entries[0])
        session.set_current_project_slug(chosen.slug)
    return chosen


NO_PROJECT = "No project yet: create one and upload tiles on the “Project & upload” page."


def project_entry_or_stop(title: str) -> ProjectEntry:
    """The current project's entry (see :func:`current_project_entry`). Without any project, the page shows
    its ``title`` and where to create one, and stops."""
    entry = current_project_entry()
    if entry is None:
        st.title(title)
        st.info(NO_PROJECT)
        st.stop()
    return entry


def open_project(entry: ProjectEntry) -> Project:
    """A fresh catalog handle for this script run (SQLite connections are cheap; no shared state)."""
    return Project.open(entry.path)
