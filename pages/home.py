"""Home: the current project's tiles with thumbnails, label and georeferencing status."""

import streamlit as st

from app import context
from app.widgets import project_header, tile_gallery

entry = context.current_project_entry()
if entry is None:
    st.title("PGSSL · building footprints and rooftop PV")
    st.info("No project found. Upload tiles to start (coming with the upload page).")
    st.stop()

with context.open_project(entry) as project:
    project_header(project)
    tile_gallery(project)
