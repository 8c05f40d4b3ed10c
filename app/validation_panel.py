"""Train page: a finished run's validation IoU with its interval, and the IoU of each validation tile.

The figures come from :mod:`pgssl_core.project.validation_iou` on the per-tile counts of the run's
model (:func:`pgssl_core.report.gather.validation_counts`, measured once per model file and kept in
the run folder, the same counts the Map page's model-error correction uses).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.training import run_validation_size
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError

#: What the figure is called, by ``ValidationSize.scoring`` of the run's validation masks (a score on
#: strokes or on too few tiles is not shown as the model's accuracy); "": not recorded.
HEADINGS = {"accuracy": "The model's accuracy on its validation tiles",
            "small": "Validation of the run's model (too little to be its accuracy)",
            "strokes": "Agreement with your strokes on the validation tiles (not an accuracy)",
            "": "Validation of the run's model"}


def validation_figures(project: Project, run: dict) -> None:
    """"Validation: IoU 0.71 (95% interval 0.52 to 0.86 over 8 validation tiles)" and a per-tile table."""
    from pgssl_core.project.validation_iou import validation_iou
    from pgssl_core.report.gather import run_info, validation_counts
    from pgssl_core.train import run_model_path

    info = run_info(run_model_path(run["path"]))
    if info is None or info.model_path is None:
        return
    try:
        with st.spinner("Measuring the model on each validation tile (once per model)…"):
            counts = validation_counts(project, info)
    except PgsslError as exc:
        st.caption(f"No per-tile validation figures: {exc}")
        return
    if not counts:
        st.caption("No per-tile validation figures: the run had no validation tiles.")
        return
    figures = validation_iou(counts)
    size = run_validation_size(run)
    st.markdown(f"**{HEADINGS.get(size.scoring if size else '', HEADINGS[''])}:** {figures.line()}.",
                help="Pooled over the validation tiles' pixels as the map predicts them (probability ≥ 0.5); the "
                     "interval comes from resampling the validation tiles (bootstrap), so few or disagreeing "
                     "tiles give a wide one. It may differ a little from the IoU logged during training, which "
                     "is measured at the training resolution.")
    names = {r.id: r.original_name for r in project.tiles()}
    rows = pd.DataFrame(figures.tile_rows())
    rows["tile"] = [names.get(t, t) for t in rows["tile"]]
    with st.expander(f"IoU of each validation tile ({len(rows)})"):
        st.dataframe(rows.rename(columns={"tile": "Tile", "iou": "IoU", "building_px": "Building px (label)",
                                          "predicted_px": "Building px (model)"}),
                     hide_index=True, width="stretch",
                     column_config={"IoU": st.column_config.NumberColumn(format="%.3f")})
