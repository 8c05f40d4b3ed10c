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
