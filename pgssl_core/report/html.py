"""The self-contained HTML report: one file, no external resource, opens offline in any browser.

Images are embedded as base64 PNG, the style sheet is inline, the district CSV is embedded as a
``data:`` link. Every number in a table cell also carries its full value in ``data-value`` (the
CSV's ``%.6g``) and its column in ``data-col``, so a test or a script can check it against the CSV.
Templates are Jinja2 with autoescaping (project and district names are user text).
"""

from __future__ import annotations

import base64
import io
import math
import re
import time
from typing import Any

import jinja2
import pandas as pd

import pgssl_core
from pgssl_core.assess.model_error import __doc__ as MODEL_ERROR_DOC
from pgssl_core.project.model_activation import read_decision
from pgssl_core.report.gather import ReportData
from pgssl_core.report.static_map import map_png

LARGEST_ROOFS = 20


def _num(value: Any, digits: int = 1) -> dict[str, str]:
    """A table cell: display text (thousands separators, ``digits`` decimals) and the CSV value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return {"text": "–", "value": ""}
    v = float(value)
    return {"text": f"{v:,.{digits}f}", "value": f"{v:.6g}"}


def _range(row: pd.Series, column: str, digits: int) -> dict[str, Any]:
    """Central value and range of ``column``; where a corrected column has no interval (model error
    unknown) the range shown is the PV assumptions' alone, flagged ``assumptions_only``."""
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    raw = column.removesuffix("_corrected")
    only = raw != column and not _finite(low) and _finite(row.get(f"{raw}_low"))
    if only:
        low, high = row.get(f"{raw}_low"), row.get(f"{raw}_high")
    return {"mid": _num(row.get(column), digits), "low": _num(low, digits), "high": _num(high, digits),
            "col": column, "range_col": raw if only else column, "assumptions_only": only}


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


DISTRICT_RANGES = [("footprint_m2_corrected", "Roof area, corrected (m²)", 0),
                   ("capacity_mwp_corrected", "PV capacity (MWp)", 3),
                   ("generation_gwh_corrected", "Generation (GWh/yr)", 3),
                   ("co2_t_corrected", "CO₂ avoided (t/yr)", 1)]
ROOF_RANGES = [("kwp", "kWp", 1), ("kwh_yr", "kWh/yr", 0), ("co2_t_yr", "CO₂ t/yr", 2)]


def _district_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for _, row in frame.iterrows():
        rows.append({"district": row["district"], "status": row.get("status", ""),
                     "buildings": _num(row.get("building_count"), 0), "raw": _num(row.get("footprint_m2"), 0),
                     "ranges": [_range(row, c, d) for c, _label, d in DISTRICT_RANGES]})
    return rows


def _roof_rows(buildings: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    if "kwp" not in buildings:
        return []
    from pgssl_core.assess.buildings_pv import largest_roofs

    return [{"id": int(r["building_id"]), "district": r["district"] or "outside every district",
             "area": _num(r["roof_area_m2"], 0), "usable": _num(r["usable_m2"], 0),
             "ranges": [_range(r, c, d) for c, _label, d in ROOF_RANGES]}
            for _, r in largest_roofs(buildings, n).iterrows()]


def _totals(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Sums over districts (NaN where a column has no value at all) of the headline figures and ranges."""
    if "footprint_m2" not in frame:
        return []
    sums = frame.select_dtypes("number").sum(min_count=1)
    out = [{"label": "Predicted roof area (raw, m²)", **_range(sums, "footprint_m2", 0)}]
    out[0]["low"] = out[0]["high"] = None
    return out + [{"label": label, **_range(sums, column, digits)} for column, label, digits in DISTRICT_RANGES
                  if column in sums]


def _budget_png(points: list[dict[str, Any]]) -> str | None:
    """Label-budget curve (val IoU against labelled tiles, one line per method) as base64 PNG."""
    if not points:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    frame = pd.DataFrame(points)
    for method, group in frame.groupby("method"):
        group = group.sort_values("labelled")
        ax.plot(group["labelled"], group["best_iou"], marker="o", label=str(method))
    ax.set_xlabel("labelled tiles")
    ax.set_ylabel("best val IoU")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _model_card(data: ReportData) -> list[tuple[str, str]]:
    manifest = data.maps.manifest
    rows = [("Buildings from", str(manifest.get("label", manifest.get("source", "?")))),
            ("Footprints / tiles",
             f"{manifest.get('footprints', len(data.buildings)):,} on {manifest.get('tiles', '?')} tiles")]
    if data.run is None:
        rows.append(("Training run", "none: the buildings come from the reference masks (ground truth)"
                     if manifest.get("source") == "reference" else "not found in this project"))
        return rows
    train = data.run.config.get("train", {})
    counts = data.run.config.get("data", {})
    result = data.run.result or {}
    # The model file is the last evaluation that became best.pt (``selected``): not simply the highest IoU,
    # which a record within the selection margin can hold without having been kept.
    history = [h for h in result.get("history", []) if h.get("iou") is not None]
    if any("selected" in h for h in history):
        best = next((h for h in reversed(history) if h.get("selected")), None)
    else:  # a run from before records said which evaluation was kept: its best one, as it then selected
        best = max(history, key=lambda h: h["iou"], default=None)
    decision = read_decision(data.run.run_dir)
    rows += [("Run", data.run.run_dir.name), ("Method", str(train.get("method", "?"))),
             ("Starting point", str(train.get("init", "random weights (scratch)"))),
             ("Profile / seed", f"{train.get('profile', '?')} / {train.get('seed', '?')}"),
             ("Labelled tiles (trained on)", str(counts.get("labelled", "?"))),
             ("Unlabelled tiles (pretraining pool)", str(counts.get("unlabelled", "?"))),
             ("Validation tiles", str(counts.get("val", "?"))),
             ("Model file", data.run.model_path.name if data.run.model_path else "missing")]
    if best is not None:
        # a score on strokes or on too few tiles is named as such, never as the model's accuracy
        rows.append((f"Validation figures (selected model): {decision.score_name}" if decision and decision.score_name
                     else "Validation figures (selected model)",
                     f"IoU {best['iou']:.3f}, F1 {best.get('f1', float('nan')):.3f}, precision "
                     f"{best.get('precision', float('nan')):.3f}, recall {best.get('recall', float('nan')):.3f} "
                     f"({best.get('stage', '?')}, round {best.get('round', '?')}, step {best.get('step', '?')})"))
    if decision is not None:
        rows.append(("Made the active model?", decision.line()))
    if data.run.model_path is not None:
        rows.append(("Trained", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(data.run.model_path.stat().st_mtime))))
    return rows


def _correction(data: ReportData) -> dict[str, Any]:
    c = data.correction
    return {"known": c.known, "status": c.status, "tiles": c.tiles, "source": c.source,
            "precision": _num(c.precision, 3), "recall": _num(c.recall, 3), "factor": _num(c.factor, 3),
            "low": _num(c.factor_low, 3), "high": _num(c.factor_high, 3),
            "per_tile": [{"tile": t["tile"], "precision": _num(t["precision"], 3), "recall": _num(t["recall"], 3),
                          "factor": _num(t["factor"], 3)} for t in c.per_tile]}


def _method_paragraphs() -> list[dict[str, Any]]:
    """The method and limits of :mod:`pgssl_core.assess.model_error` as blocks: ``{"text": ...}`` for a
    paragraph, ``{"items": [...]}`` for a bulleted list."""
    text = (MODEL_ERROR_DOC or "").split("\n\n", 1)[-1]
    text = re.sub(r":\w+:`~?([^`]*)`", r"\1", text).replace("``", "")  # reST roles and literals to plain text
    blocks: list[dict[str, Any]] = []
    for block in (b.strip() for b in text.split("\n\n") if b.strip()):
        if block.startswith("- "):
            blocks.append({"items": [" ".join(item.split()) for item in re.split(r"(?m)^- ", block) if item.strip()]})
        else:
            blocks.append({"text": " ".join(block.split())})
    return blocks


def render_report(data: ReportData, largest: int = LARGEST_ROOFS) -> str:
    """The HTML of ``data`` (one string, self-contained)."""
    frame = data.district_frame()
    csv = frame.to_csv(index=False, float_format="%.6g").encode("utf-8") if len(frame) else b""
    assumptions = data.assumptions.table()
    context = {
        "project": data.project_name, "version": pgssl_core.__version__,
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(data.created)),
        "map_png": base64.b64encode(map_png(data.districts, data.assessment.grid, data.buildings)).decode("ascii"),
        "totals": _totals(frame), "district_note": data.district_note,
        "district_headers": [label for _c, label, _d in DISTRICT_RANGES], "districts": _district_rows(frame),
        "roof_headers": [label for _c, label, _d in ROOF_RANGES], "roofs": _roof_rows(data.buildings, largest),
        "n_buildings": len(data.buildings), "assumptions": assumptions.to_dict("records"),
        "model_card": _model_card(data),
        "correction": _correction(data), "method": _method_paragraphs(),
        "verdict": data.comparison.verdict if data.comparison is not None else None,
        "comparison": data.comparison, "rounds": data.rounds, "budget": data.budget,
        "budget_png": _budget_png(data.budget), "csv_b64": base64.b64encode(csv).decode("ascii"),
        "is_pgssl": data.run is not None and data.run.config.get("train", {}).get("method") == "pgssl",
    }
    env = jinja2.Environment(loader=jinja2.PackageLoader("pgssl_core.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined)
    return env.get_template("report.html").render(**context)
