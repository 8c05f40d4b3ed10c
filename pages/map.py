"""Map: buildings, district choropleth, density heatmap and rooftop-PV figures of the open project."""

import streamlit as st

from app import boundaries, context, mappage, report_panel
from pgssl_core.errors import PgsslError

entry = context.project_entry_or_stop("Map")

min_area_m2 = mappage.min_area_slider()
with context.open_project(entry) as project:
    st.title(f"Map · {project.name}")
    mappage.predict_all_tiles(project)
    maps = mappage.choose_layers(project)
    if maps is None:
        st.info("Nothing to map yet: this project has no reference masks and no finished prediction. "
                "Train a model, then press “Predict all tiles”.")
        st.stop()
    boundaries.boundary_panel(project)
    try:
        view = mappage.map_view(maps, boundaries.project_boundaries(project), min_area_m2)
    except PgsslError as exc:
        st.warning(str(exc))
        st.stop()
    assumptions = mappage.pv_sliders(view)  # the site's values until moved: what they show is what is used
    view = mappage.with_assumptions(view, assumptions)
    view = report_panel.with_building_district(view)  # the footprint tooltip names the district
    mappage.map_panel(project, view, report_panel.building_pv(view, assumptions))  # roofs coloured by PV
    mappage.district_table(view, project)
    mappage.downloads(view, project)
    report_panel.map_extras(project, view, assumptions)
