"""Project & upload: pick or create a project, add tiles, browse them."""

import streamlit as st

from app.tile_service import tile_service_form
from app.upload import new_project_form, open_current_project, show_notice, upload_form
from app.widgets import project_header, tile_gallery

project = open_current_project()
if project is None:
    st.title("PGSSL · building footprints and rooftop PV")
    new_project_form(expanded=True)
    st.stop()

with project:
    project_header(project)
    show_notice()
    new_project_form()
    upload_form(project)
    tile_service_form(project)
    tile_gallery(project)
