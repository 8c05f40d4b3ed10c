"""The Train page's charts (Altair, which Streamlit ships) and their tables from a run's ``metrics.jsonl``:
step axes that start at 0, points on every validation so a single evaluation is visible, one colour per
loss series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from pgssl_core.train.progress import read_metrics


def _stage_offsets(events: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Global step at which each (round, stage) starts, in the order the stages first ran."""
    offsets: dict[tuple[int, str], int] = {}
    total = 0
    for event in events:
        if event.get("kind") in ("stage", "step", "val") and "stage" in event:
            key = (int(event.get("round", 1)), str(event["stage"]))
            if key not in offsets:  # a resumed stage keeps its first offset
                offsets[key] = total
                total += int(event.get("total") or 0)
    return offsets


def metrics_tables(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(losses, validation) of a run's ``metrics.jsonl``.

    losses: columns step (global optimizer step of the run), round, stage, task, loss.
    validation: columns step, round, stage, iou, f1, precision, recall.
    """
    events = read_metrics(Path(run_dir) / "metrics.jsonl")
    offsets = _stage_offsets(events)
    losses, vals = [], []
    for e in events:
        kind = e.get("kind")
        if kind not in ("step", "val"):
            continue
        rnd, stage = int(e.get("round", 1)), str(e.get("stage"))
        step = offsets.get((rnd, stage), 0) + int(e.get("step", 0))
        if kind == "step":
            losses += [{"step": step, "round": rnd, "stage": stage, "task": task, "loss": value}
                       for task, value in (e.get("losses") or {}).items() if value is not None]
        else:
            v = e.get("val") or {}
            vals.append({"step": step, "round": rnd, "stage": stage, **{k: v.get(k) for k in
                                                                        ("iou", "f1", "precision", "recall")}})
    return (pd.DataFrame(losses, columns=["step", "round", "stage", "task", "loss"]),
            pd.DataFrame(vals, columns=["step", "round", "stage", "iou", "f1", "precision", "recall"]))


def _step_axis() -> alt.X:
    # Vega's "nice" domain pads below the first step; a step is never negative
    return alt.X("step:Q", title="step", scale=alt.Scale(domainMin=0, nice=False))


def loss_chart(losses: pd.DataFrame) -> alt.Chart:
    """``losses``: columns step, stage, task, loss (see :func:`metrics_tables`)."""
    data = losses.assign(series=losses["task"] + " (" + losses["stage"] + ")")
    return alt.Chart(data).mark_line().encode(
        _step_axis(), alt.Y("loss:Q", title="loss"),
        alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["step", "series", alt.Tooltip("loss:Q", format=".4f")])


def val_chart(vals: pd.DataFrame) -> alt.Chart:
    """``vals``: columns step, round, stage, iou; every evaluation is a point (one evaluation is still seen)."""
    return alt.Chart(vals).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        _step_axis(), alt.Y("iou:Q", title="IoU", scale=alt.Scale(domain=[0, 1])),
        tooltip=["step", "round", "stage", alt.Tooltip("iou:Q", format=".3f")])
