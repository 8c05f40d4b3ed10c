"""The sidebar shared by every page: project picker and device badge."""

from __future__ import annotations

import streamlit as st

from app import context, session


@st.cache_resource
def device_badge() -> str:
    """"GPU: <name>" or "CPU (<n> threads)": what training and prediction will run on."""
    import torch  # deferred: only the sidebar needs it, once per server process

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def render_sidebar() -> None:
    """Project picker bound to the URL, and the compute device."""
    entries = context.available_projects()
    current = context.current_project_entry()
    with st.sidebar:
        st.badge(device_badge(), icon=":material/memory:", color="gray")
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
