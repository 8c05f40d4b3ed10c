"""Typed accessors for what the app remembers about the current browser session.

The current project lives in the URL (``?project=<slug>``) and in ``st.session_state``: a browser
reload starts a new session and would forget the session state, and a page switch in the menu drops
the URL's query parameters, so each one covers the other. Projects are always named by their folder
(the slug), never by their display name, which two projects may share.
"""

from __future__ import annotations

import streamlit as st

PROJECT_PARAM = "project"
PROJECT_STATE = "current_project"  # session fallback when a page switch has dropped the URL parameter


def current_project_slug() -> str | None:
    """The project folder from the URL, else the one this session last opened, else ``None``."""
    value = st.query_params.get(PROJECT_PARAM) or st.session_state.get(PROJECT_STATE)
    return value or None


def set_current_project_slug(slug: str) -> None:
    """Remember ``slug`` in the URL (a reload or a shared link opens the same project) and in the session."""
    st.session_state[PROJECT_STATE] = slug
    if st.query_params.get(PROJECT_PARAM) != slug:
        st.query_params[PROJECT_PARAM] = slug


def notice() -> tuple[str, str] | None:
    """A one-off (kind, text) message for the next page run, e.g. after creating a project; cleared when read."""
    return st.session_state.pop("notice", None)


def set_notice(kind: str, text: str) -> None:
    """Show ``text`` once on the next run; ``kind`` is "success", "info" or "warning"."""
    st.session_state["notice"] = (kind, text)


def new_project_generation() -> int:
    """Bumped after a project is created so the name input starts empty again (and keeps it on an error)."""
    return int(st.session_state.get("new_project_generation", 0))


def next_new_project_generation() -> None:
    st.session_state["new_project_generation"] = new_project_generation() + 1


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


def set_last_import(rows: list[tuple[str, str, str]], summary: str) -> None:
    """Keep the rows and the one-line ``summary`` (``uploads.import_summary``) of an import."""
    st.session_state["last_import"] = rows
    st.session_state["last_import_summary"] = summary


def last_import_summary() -> str:
    """The one-line summary of the most recent import ("" before any)."""
    return str(st.session_state.get("last_import_summary", ""))
