"""The Train page's charts (Altair, which Streamlit ships): step axes that start at 0, points on every
validation so a single evaluation is visible, one colour per loss series."""

from __future__ import annotations

import altair as alt
import pandas as pd


def _step_axis() -> alt.X:
    # Vega's "nice" domain pads below the first step; a step is never negative
    return alt.X("step:Q", title="step", scale=alt.Scale(domainMin=0, nice=False))


def loss_chart(losses: pd.DataFrame) -> alt.Chart:
    """``losses``: columns step, stage, task, loss (see ``app.training.metrics_tables``)."""
    data = losses.assign(series=losses["task"] + " (" + losses["stage"] + ")")
    return alt.Chart(data).mark_line().encode(
        _step_axis(), alt.Y("loss:Q", title="loss"), alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["step", "series", alt.Tooltip("loss:Q", format=".4f")])


def val_chart(vals: pd.DataFrame) -> alt.Chart:
    """``vals``: columns step, round, stage, iou; every evaluation is a point (one evaluation is still seen)."""
    return alt.Chart(vals).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        _step_axis(), alt.Y("iou:Q", title="IoU", scale=alt.Scale(domain=[0, 1])),
        tooltip=["step", "round", "stage", alt.Tooltip("iou:Q", format=".3f")])
