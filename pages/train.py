"""Train: pick a profile and method, start a background run, watch it live, choose the active model."""

import streamlit as st

from app import context, report_panel, train_panels, training

entry = context.project_entry_or_stop("Train")

registry = training.job_registry()
with context.open_project(entry) as project:
    st.title(f"Train · {project.name}")
    with st.container(border=True):
        st.subheader("New run")
        train_panels.setup_panel(project, registry)
    live = training.any_live(registry, project)

st.subheader("Current run")
train_panels.live_panel(entry, poll=live)

with context.open_project(entry) as project:
    report_panel.pretraining_panel(project)  # before the history, whose table stays the page's last
    st.subheader("Run history")
    train_panels.history_panel(project, registry)
