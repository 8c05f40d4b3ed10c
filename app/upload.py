"""Project creation and tile upload widgets of the "Project & upload" page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import context, session
from app.projects import create_project, projects_dir
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.uploads import import_summary, import_uploads

MAX_ERRORS_SHOWN = 20  # the full list is in the table below them
UPLOAD_TYPES = ["tif", "tiff", "png", "jpg", "jpeg", "webp", "zip"]


def new_project_form(expanded: bool = False) -> None:
    """An expander to create an empty project; on success the app switches to it and says so.

    A refused name (empty, too long, already taken) stays in the input so the user can correct it.
    """
    with st.expander("New project", icon=":material/add:", expanded=expanded):
        with st.form("new_project"):
            name = st.text_input("Project name", placeholder="e.g. Haidian 2024 orthophotos",
                                 key=f"new_project_name_{session.new_project_generation()}")
            if st.form_submit_button("Create project"):
                try:
                    entry = create_project(projects_dir(), name)
                except PgsslError as exc:
                    st.error(str(exc))
                    return
                session.set_current_project_slug(entry.slug)
                session.next_new_project_generation()  # the next form starts empty
                session.set_notice("success", f"Created project **{entry.name}** and switched to it: "
                                              "add tiles below.")
                st.rerun()


def show_notice() -> None:
    """The one-off message left by the previous run (e.g. "Created project ..."), if any."""
    message = session.notice()
    if message is not None:
        kind, text = message
        getattr(st, kind, st.info)(text)


def upload_form(project: Project) -> None:
    """Multi-file upload (tiles, large rasters, zip archives) with a per-file result table."""
    st.subheader("Add tiles")
    st.caption("GeoTIFF (any CRS, 8/16-bit or float), PNG, JPEG, WebP, or zip archives of them. Large rasters are "
               "split into 512 px tiles. PNG/JPEG are georeferenced from an XYZ tile name or a world file.")
    key = f"uploader_{session.uploader_generation()}"
    files = st.file_uploader("Tiles", type=UPLOAD_TYPES, accept_multiple_files=True, key=key,
                             label_visibility="collapsed")
    if files and st.button(f"Import {len(files)} file(s)", type="primary"):
        bar = st.progress(0.0, text="Importing…")

        def progress(done: int, total: int, result) -> None:
            bar.progress(done / max(total, 1), text=f"{done}/{total}: {result.line()}")

        results = import_uploads(project, ((f.name, f.getvalue()) for f in files), progress=progress)
        session.set_last_import([(r.source_name, r.status,
                                  r.message.removeprefix(f"{r.source_name}: ") if r.status == "error" else
                                  f"{len(r.tile_ids)} tile(s)") for r in results], import_summary(results))
        session.next_uploader_generation()  # clears the uploader for the next batch
        st.rerun()
    last = session.last_import()
    if last:
        table = pd.DataFrame(last, columns=["file", "result", "details"])
        refused = int((table["result"] == "error").sum())
        # tiles, not files: a large raster is split into many (a file split into 24 tiles reads "24 added")
        (st.success if refused == 0 else st.warning)(f"Last import: {session.last_import_summary()}.")
        for name, _, reason in [row for row in last if row[1] == "error"][:MAX_ERRORS_SHOWN]:
            st.error(f"**{name}**: {reason}")
        with st.expander("All files of the last import"):
            st.dataframe(table, hide_index=True, width="stretch")


def delete_tile_button(project: Project, tile_id: str) -> None:
    """A small popover with a confirmation before a tile and its labels are deleted."""
    with st.popover("Delete", width="stretch"):
        st.write("Delete this tile and its labels? This cannot be undone.")
        if st.button("Delete tile", key=f"delete_{tile_id}", type="primary"):
            project.delete_tile(tile_id)
            st.rerun()


def open_current_project() -> Project | None:
    """Open the project named in the URL; ``None`` (with a message) when there is none."""
    entry = context.current_project_entry()
    if entry is None:
        st.info("No project yet: create one below.")
        return None
    return context.open_project(entry)
