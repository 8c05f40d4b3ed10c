"""Streamlit side of the Label page: tile navigation, brush canvas, label actions, model assistance.

The logic lives in :mod:`pgssl_core.labeling` (stroke decoding, versioned saving, uncertainty
ranking); this module only binds it to widgets, the URL (``?tile=<id>``) and the session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from app.canvas import brush_canvas, brush_cursor
from pgssl_core.catalog import Project, TileRecord
from pgssl_core.errors import PgsslError
from pgssl_core.labeling import (
    DEFAULT_PALETTE,
    ZOOMS,
    LabelEditor,
    RankedTile,
    SaveOutcome,
    ViewWindow,
    can_pan,
    display_size,
    fill_unlabelled,
    label_these_next,
    overlay,
    pan,
    place_strokes,
    prediction_to_labels,
    strokes_to_labels,
    upscale,
    zoom_window,
)
from pgssl_core.project.active_model import active_model_path

TILE_PARAM = "tile"
EDITOR_KEY = "label_editor"
NOTICE_KEY = "label_notice"
RANKING_KEY = "label_ranking"
CANVAS_LONGEST_SIDE = 512  # screen px: a 256 px tile is shown at 2x, so strokes can be precise
RANKING_LIMIT = 10
RANKING_CANDIDATES = 48  # tiles scored per click: one forward pass each, about 1-2 s per tile on a CPU
BRUSHES = {"Building": DEFAULT_PALETTE.building, "Background": DEFAULT_PALETTE.background,
           "Eraser": DEFAULT_PALETTE.eraser}
WIDTH_KEY = "label_brush_width"
WIDTH_SETTING = "label_brush_width"  # project setting: the width is kept across tiles and reloads
WIDTH_RANGE = (2, 60)
DEFAULT_WIDTH = 16
VIEW_KEY = "label_view"  # (tile id, zoom, ViewWindow) of this session
PAN_BUTTONS = {"left": "←", "up": "↑", "down": "↓", "right": "→"}


@dataclass(frozen=True)
class Brush:
    """The brush chosen in the controls: which label it paints and its width in screen px."""

    kind: str
    width: int

    @property
    def css_color(self) -> str:
        return DEFAULT_PALETTE.css(BRUSHES[self.kind])


# ---------------------------------------------------------------- which tile


def current_tile(records: list[TileRecord]) -> TileRecord:
    """The tile named in the URL (``?tile=``), else the first one (and the URL says so)."""
    wanted = st.query_params.get(TILE_PARAM)
    record = next((r for r in records if r.id == wanted), records[0])
    if wanted != record.id:
        st.query_params[TILE_PARAM] = record.id
    return record


def go_to_tile(tile_id: str) -> None:
    """Switch to ``tile_id`` (kept in the URL so a reload comes back to it) and rerun."""
    st.query_params[TILE_PARAM] = tile_id
    st.rerun()


def tile_navigation(records: list[TileRecord], record: TileRecord) -> None:
    """Previous / next / next unlabelled buttons and where we are."""
    index = next(i for i, r in enumerate(records) if r.id == record.id)
    after = records[index + 1:] + records[:index]
    next_unlabelled = next((r for r in after if not r.label_state.trainable), None)
    c1, c2, c3, c4 = st.columns([1, 1, 1.4, 3])
    if c1.button("◀ Previous", disabled=index == 0, key="label_prev", width="stretch"):
        go_to_tile(records[index - 1].id)
    if c2.button("Next ▶", disabled=index == len(records) - 1, key="label_next", width="stretch"):
        go_to_tile(records[index + 1].id)
    if c3.button("Next unlabelled", disabled=next_unlabelled is None, key="label_next_unlabelled",
                 width="stretch"):
        go_to_tile(next_unlabelled.id)
    where = f" · {record.group}" if record.group else ""
    c4.markdown(f"Tile **{index + 1} / {len(records)}**: `{record.original_name}`{where}")


# ---------------------------------------------------------------- editing


def editor_for(project: Project, tile_id: str) -> LabelEditor:
    """This session's editor of ``tile_id`` (opened from disk when the tile changes or on reload)."""
    editor: LabelEditor | None = st.session_state.get(EDITOR_KEY)
    if editor is None or editor.tile_id != tile_id:
        editor = LabelEditor.open(project, tile_id)
        st.session_state[EDITOR_KEY] = editor
    return editor


def _notify(outcome: SaveOutcome) -> None:
    """Keep a stale-version warning across the rerun that shows the reloaded canvas."""
    if outcome.status == "stale":
        st.session_state[NOTICE_KEY] = outcome.message


def show_notice() -> None:
    """The pending one-line warning, once."""
    message = st.session_state.pop(NOTICE_KEY, None)
    if message:
        st.warning(message, icon="⚠️")


def brush_controls(project: Project) -> Brush:
    """Brush type and width; the width is a project setting, so it stays across tiles and reloads."""
    kind = st.radio("Brush", list(BRUSHES), horizontal=True, key="label_brush",
                    help="Building: roofs. Background: everything else you are sure about. "
                         "Eraser: back to unlabelled.")
    stored = project.get_setting(WIDTH_SETTING, DEFAULT_WIDTH)
    if WIDTH_KEY not in st.session_state:
        st.session_state[WIDTH_KEY] = int(min(max(int(stored), WIDTH_RANGE[0]), WIDTH_RANGE[1]))
    width = int(st.slider("Brush width (px)", *WIDTH_RANGE, key=WIDTH_KEY,
                          help="The ring under the mouse shows the brush. Kept for this project."))
    if width != stored:
        project.set_setting(WIDTH_SETTING, width)
    return Brush(kind, width)


def view_controls(editor: LabelEditor, shape: tuple[int, int]) -> ViewWindow:
    """Zoom (1x, 2x, 4x) and pan buttons; returns the part of the tile the canvas shows.

    A new zoom or window starts a fresh canvas on top of what is saved (the strokes so far are saved).
    """
    stored = st.session_state.get(VIEW_KEY)
    zoom, window = (stored[1], stored[2]) if stored and stored[0] == editor.tile_id else (1, zoom_window(shape, 1))
    columns = st.columns([2.2, 1, 1, 1, 1])
    chosen = columns[0].radio("Zoom", ZOOMS, index=ZOOMS.index(zoom), horizontal=True, key="label_zoom",
                              format_func=lambda z: f"{z}×", help="Shows part of the tile larger; pan with the arrows.")
    if chosen != zoom:
        centre = (window.row0 + window.rows / 2, window.col0 + window.cols / 2)
        zoom, window = chosen, zoom_window(shape, chosen, centre)
        editor.new_canvas()
    for column, (direction, arrow) in zip(columns[1:], PAN_BUTTONS.items()):
        column.space("small")
        if column.button(arrow, key=f"label_pan_{direction}", disabled=not can_pan(window, direction, shape),
                         help=f"Pan {direction}", width="stretch"):
            window = pan(window, direction, shape)
            editor.new_canvas()
    st.session_state[VIEW_KEY] = (editor.tile_id, zoom, window)
    return window


def label_canvas(project: Project, editor: LabelEditor, image: np.ndarray, brush: Brush,
                 window: ViewWindow | None = None) -> None:
    """The canvas over the tile (or the ``window`` of it) with the saved label tinted in; each change
    is saved at once.

    Strokes come back as an RGBA image; merged over the label saved when the canvas opened,
    so the canvas toolbar's undo / redo / reset also undo on disk.
    """
    window = window or zoom_window(image.shape[:2], 1)
    rows, cols = window.slices
    height, width = display_size(window.rows, window.cols, longest=CANVAS_LONGEST_SIDE)
    background = Image.fromarray(upscale(overlay(image[rows, cols], editor.base_shown[rows, cols]), (height, width)))
    brush_cursor(brush.width)
    rgba = brush_canvas(background, brush.css_color, brush.width, height, width, f"{editor.canvas_key}-{window.key}")
    if rgba is None:
        return
    strokes = place_strokes(strokes_to_labels(rgba, (window.rows, window.cols)), window, image.shape[:2])
    try:
        outcome = editor.apply_strokes(project, strokes)
    except PgsslError as exc:  # e.g. a full disk: one line; the saved label stays as it was
        st.error(f"Not saved: {exc}", icon="⚠️")
        return
    if outcome.status == "stale":
        _notify(outcome)
        st.rerun()
    if outcome.status == "saved":
        st.caption(f"Saved automatically (version {outcome.version}).")


def _label_actions(project: Project, editor: LabelEditor) -> None:
    """"Rest is background", clear (with one-step undo) and the undo of the last bulk action."""
    outcome: SaveOutcome | None = None
    if editor.complete:
        st.success("Complete: unpainted pixels count as background.", icon="✅")
        if st.button("Unpainted pixels are unknown again", key="label_incomplete", width="stretch"):
            outcome = editor.set_complete(project, False)
    elif st.button("Rest is background", key="label_complete", type="primary", width="stretch",
                   help="Everything you did not paint counts as background when training."):
        outcome = editor.set_complete(project, True)
    if st.button("Clear labels", key="label_clear", width="stretch",
                 help="Removes every painted pixel of this tile (you can undo it right after)."):
        outcome = editor.clear(project)
    if editor.undo is not None and st.button("Undo clear / pre-fill", key="label_undo_bulk", width="stretch"):
        outcome = editor.undo_bulk(project)
    if outcome is not None:
        _notify(outcome)
        st.rerun()  # the canvas must show the new label (fresh canvas key)


def label_actions(project: Project, editor: LabelEditor) -> None:
    """:func:`_label_actions`, with a failed save (e.g. a full disk) shown as one line."""
    try:
        _label_actions(project, editor)
    except PgsslError as exc:
        st.error(f"Not saved: {exc}", icon="⚠️")


def balance_notice(editor: LabelEditor) -> None:
    """A warning when this tile's saved labels are (nearly) one class, saying how to fix it
    (``pgssl_core.labeling.balance``)."""
    from pgssl_core.labeling.balance import balance_warning

    message = balance_warning(editor.saved, editor.complete)
    if message is not None:
        st.warning(message, icon=":material/brush:")


def progress_counters(records: list[TileRecord], editor: LabelEditor) -> None:
    """Labelled tiles in the project and this tile's labelled share (from the last save)."""
    usable = sum(1 for r in records if r.label_state.trainable)
    complete = sum(1 for r in records if r.label_complete)
    share, building = editor.fractions  # a complete tile ("rest is background") is 100% labelled
    c1, c2 = st.columns(2)
    c1.metric("Labelled tiles", f"{usable} / {len(records)}", help=f"{complete} marked complete")
    c2.metric("This tile labelled", f"{share:.0%}", help=f"building {building:.1%} of the tile")


# ---------------------------------------------------------------- model assistance


def project_tile_gsd(project: Project, tile_id: str) -> float | None:
    from pgssl_core.catalog.gsd_settings import project_tile_gsd as gsd

    return gsd(project, tile_id)


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _cached_model(path: str, mtime_ns: int):
    # mtime in the cache key: a retrained model under the same name is loaded again
    from pgssl_core.models import load_model

    model, config, _meta = load_model(path)
    return model, config


def _predictor():
    from pgssl_core.infer import predict_tile  # torch only when a model is actually used

    return predict_tile


def model_assist(project: Project, editor: LabelEditor, tile_image: np.ndarray, valid: np.ndarray) -> None:
    """"Start from the model's prediction" and "label these next", once a model is active. Before training,
    the base model adapted to the project's tiles (BatchNorm statistics only, no labels); its file is made on
    the first press of either button (a few seconds, once per tile set)."""
    st.subheader("Model assistance")
    from pgssl_core.project.adapted_model import project_model_choice  # torch only once a model is used

    active = active_model_path(project)
    if active is not None and not active.is_file():
        st.warning(f"The active model file {active.name} is missing: train again or pick another model.")
    choice = project_model_choice(project)
    if choice is None:
        st.caption("Start from the model's prediction and \"label these next\": available after training.")
        return
    if choice.is_base:
        st.info(f"Using {choice.label}.", icon=":material/info:")
    load = _model_loader(project, choice)
    if choice.path.is_file():  # a file that cannot be read is said now, not on a press
        try:
            load()
        except PgsslError as exc:
            st.warning(str(exc))
            return
    if st.button("Start from the model's prediction", key="label_prefill", width="stretch",
                 help="Fills the unpainted pixels with the model's answer; your strokes are kept. Undo is offered."):
        try:
            model, config = load()
        except PgsslError as exc:
            st.warning(str(exc))
            return
        with st.spinner("Predicting…"):
            prob = _predictor()(model, config, tile_image, source_gsd_m=project_tile_gsd(project, editor.tile_id))
        outcome = editor.replace(project, fill_unlabelled(editor.saved, prediction_to_labels(prob, valid=valid)))
        _notify(outcome)
        st.rerun()
    ranking_panel(project, load, str(choice.path))


def _model_loader(project: Project, choice):  # noqa: ANN001, ANN202 - ModelChoice; () -> (model, config)
    """``load() -> (model, config)`` of ``choice``: its file made first when it is the adapted base model that
    is not there yet (with a spinner), then read once per file version (cached)."""

    def load():  # noqa: ANN202
        from pgssl_core.project.adapted_model import ensure_model_file

        if not choice.path.is_file():
            with st.spinner("Adapting the base model to your tiles (BatchNorm statistics only, no labels)…"):
                path = ensure_model_file(project, choice)
        else:
            path = choice.path
        return _cached_model(str(path), path.stat().st_mtime_ns)

    return load


def ranking_panel(project: Project, load, model_key: str) -> None:  # noqa: ANN001 - () -> (model, config)
    """"Label these next": unlabelled tiles the model is least sure about, each a button to open it
    (``load()`` gives the model and its config when the button is pressed)."""
    stored = st.session_state.get(RANKING_KEY)
    if st.button("Label these next (rank by model uncertainty)", key="label_rank", width="stretch",
                 help=f"Scores up to {RANKING_CANDIDATES} unlabelled tiles with the active model "
                      "(mean entropy of its prediction) and lists the least certain ones."):
        try:
            model, config = load()
        except PgsslError as exc:
            st.warning(str(exc))
            return
        bar = st.progress(0.0, text="Scoring unlabelled tiles…")
        ranked = label_these_next(project, model, config, _predictor(), limit=RANKING_LIMIT,
                                  max_candidates=RANKING_CANDIDATES,
                                  progress=lambda done, total: bar.progress(done / total,
                                                                            text=f"Scoring tile {done} / {total}…"))
        bar.empty()
        stored = (model_key, ranked)
        st.session_state[RANKING_KEY] = stored
    if not stored or stored[0] != model_key:
        return
    ranked: list[RankedTile] = stored[1]
    if not ranked:
        st.caption("Every tile is labelled.")
    for position, item in enumerate(ranked, start=1):
        if st.button(f"{position}. {item.name} · uncertainty {item.score:.2f}", key=f"label_rank_{item.tile_id}",
                     width="stretch"):
            go_to_tile(item.tile_id)
