"""The sidebar shared by every page: project picker."""

from __future__ import annotations

import streamlit as st

from app import context, session


def render_sidebar() -> None:
    """Project picker bound to the URL."""
    entries = context.available_projects()
    current = context.current_project_entry()
    with st.sidebar:
        if not entries or current is None:
            st.info("No project yet.")
            return
        slugs = [e.slug for e in entries]
        names = {e.slug: e.name for e in entries}
        choice = st.selectbox("Project", slugs, index=slugs.index(current.slug), format_func=names.__getitem__,
                              key="project_picker")
        if choice != current.slug:
            session.set_current_project_slug(choice)
            st.rerun()
