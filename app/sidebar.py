"""The sidebar shared by every page: project picker and device badge."""

from __future__ import annotations

import streamlit as st

from app import context, session
from app.projects import MAX_PROJECTS_LISTED, picker_entries, picker_labels

PICKER_KEY = "project_picker"


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
        shown, hidden = picker_entries(entries, current.slug)
        labels = picker_labels(shown)
        # the widget follows the current project (URL or session), so a stale widget value can never
        # pull the app back to another project; a user's pick reaches the URL through the callback
        if st.session_state.get(PICKER_KEY) != current.slug:
            st.session_state[PICKER_KEY] = current.slug
        st.selectbox("Project", list(labels), format_func=labels.__getitem__, key=PICKER_KEY,
                     on_change=_picked)
        if hidden:
            st.caption(f"{hidden} more projects are not listed (MAX_PROJECTS_LISTED = {MAX_PROJECTS_LISTED}); "
                       "open one by its URL.")


def _picked() -> None:
    session.set_current_project_slug(st.session_state[PICKER_KEY])
