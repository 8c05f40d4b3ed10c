"""Typed accessors for what the app remembers about the current browser session.

The current project lives in the URL (``?project=<slug>``), not only in ``st.session_state``:
a browser reload starts a new session and would otherwise forget it.
"""

from __future__ import annotations

import streamlit as st

PROJECT_PARAM = "project"


def current_project_slug() -> str | None:
    """The project slug from the URL, or ``None``."""
    value = st.query_params.get(PROJECT_PARAM)
    return value or None


def set_current_project_slug(slug: str) -> None:
    """Remember ``slug`` in the URL so a reload or a shared link opens the same project."""
    if st.query_params.get(PROJECT_PARAM) != slug:
        st.query_params[PROJECT_PARAM] = slug


def gallery_page() -> int:
    """Zero-based page of the tile gallery."""
    return int(st.session_state.get("gallery_page", 0))


def set_gallery_page(page: int) -> None:
    st.session_state["gallery_page"] = max(0, int(page))


def uploader_generation() -> int:
    """Bumped after each import so the file uploader widget starts empty again."""
    return int(st.session_state.get("uploader_generation", 0))


def next_uploader_generation() -> None:
    st.session_state["uploader_generation"] = uploader_generation() + 1


def last_import() -> list[tuple[str, str, str]]:
    """Rows (file, result, details) of the most recent import, shown until the next one."""
    return list(st.session_state.get("last_import", []))


def set_last_import(rows: list[tuple[str, str, str]]) -> None:
    st.session_state["last_import"] = rows
