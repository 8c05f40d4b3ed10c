"""Label: paint buildings and background on one tile at a time; every change is saved at once."""

import streamlit as st

from app import context, labeling

entry = context.project_entry_or_stop("Label")

with context.open_project(entry) as project:
    st.title(f"Label · {project.name}")
    records = project.tiles()
    if not records:
        st.info("This project has no tiles yet: upload some on the “Project & upload” page.")
        st.stop()
    record = labeling.current_tile(records)
    labeling.tile_navigation(records, record)
    labeling.show_notice()
    editor = labeling.editor_for(project, record.id)
    tile = project.read(record.id)
    canvas_column, side_column = st.columns([3, 2], gap="large")
    with side_column:
        brush = labeling.brush_controls(project)
    with canvas_column:
        window = labeling.view_controls(editor, tile.image.shape[:2])
        st.space("small")  # room for the canvas toolbar, which floats above the canvas's top right corner
        labeling.label_canvas(project, editor, tile.image, brush, window)
        st.caption("Paint with the mouse; the ring shows the brush. The canvas toolbar (top right, on hover) has "
                   "undo, redo and reset. Saved labels are tinted: red = building, blue = background.")
    with side_column:
        labeling.label_actions(project, editor)
        labeling.balance_notice(editor)  # labels (nearly) one class: say how to fix them
        labeling.progress_counters(project.tiles(), editor)  # re-read: the canvas may just have saved
        labeling.model_assist(project, editor, tile.image, tile.valid)
