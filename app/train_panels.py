"""The panels of the Train page: run setup (profile, method, device, data, ETA), the live run panel
(polled every 2 s) and the run history with the active-model choice. Logic lives in
:mod:`app.training`, :mod:`app.train_progress` and the library; this module only renders."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from app import context, train_charts, train_progress, train_start, training, validation_panel
from app.jobs import JobRegistry
from app.projects import ProjectEntry
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.project.active_model import active_model_setting, is_active_model, set_active_model
from pgssl_core.project.model_activation import Decision
from pgssl_core.project.training_speed import stored_speed
from pgssl_core.project.validation_size import ValidationSize, validation_size
from pgssl_core.train import METHODS, TrainConfig
from pgssl_core.train.eta import (
    Estimate,
    benchmark_seg_step,
    estimate_run,
    eta_range,
    format_duration,
    overall_fraction,
    run_plan,
)
from pgssl_core.train.progress import read_metrics

RUN_PARAM = "run"  # the run shown in the live panel, kept in the URL for reloads
POLL_S = 2
METHOD_HELP = {"pgssl": "PGSSL: teacher, then pseudo-label + BYOL + inpainting pretraining on all tiles, "
                        "transfer and fine-tune, alternating rounds",
               "supervised": "baseline: a U-Net trained on the labelled tiles only",
               "byol": "baseline: BYOL pretraining only, then fine-tune",
               "inpaint": "baseline: inpainting pretraining only, then fine-tune"}
PROFILE_HELP = {"test": "tiny, seconds (for tests)", "quick": "CPU, minutes", "standard": "GPU, minutes",
                "paper": "the paper's scale, hours on a GPU"}
STATE_COLORS = {"queued": "gray", "running": "blue", "done": "green", "failed": "red", "cancelled": "orange",
                "interrupted": "orange"}


@st.cache_resource(show_spinner="Measuring the training speed of this profile (a few seconds)…")
def _benchmark(profile: str, device: str) -> float:
    return benchmark_seg_step(profile, device)


def _estimate(project: Project, method: str, profile: str, device: str) -> Estimate:
    stored = stored_speed(project, profile, device)
    if stored:
        return estimate_run(method, profile, stored, "the last run of this profile")
    return estimate_run(method, profile, {"seg": _benchmark(profile, device)}, "a short speed test")


def _validation_size_note(size: ValidationSize | None, finished: bool = False) -> None:
    """How much validation there is, and a plain warning when it is too little to judge a model by."""
    if size is None:
        return
    reason = size.too_little()
    if reason is None:
        st.caption(f"Validation set: {size.line()}.")
        return
    if size.scoring == "strokes":
        st.warning(f"**Validation on strokes only:** the validation figures are {size.score_name()}: they say how "
                   f"well the model follows the strokes you painted, not how accurate it is on whole tiles "
                   f"({size.line()}). Fully label a few validation tiles (“Rest is background” marks a tile "
                   "complete) to measure accuracy.", icon=":material/warning:")
        return
    what = "This run's validation IoU" if finished else "The validation IoU of this run"
    st.warning(f"**Too little validation to judge the model:** {reason}. {what} comes from {size.line()} and "
               "can be far off the model's real accuracy. Fully label more tiles (“Rest is background” marks a "
               "tile complete) and check the predictions on the Map page with your own eyes.",
               icon=":material/warning:")


def setup_panel(project: Project, registry: JobRegistry) -> None:
    """Profile and method choice, device, the tiles a run would use, an ETA, and the start button."""
    default_profile = "quick" if training.device_line().startswith("cpu") else "standard"
    c1, c2 = st.columns(2)
    offered = training.offered_profiles()
    profile = c1.selectbox("Profile", offered, index=offered.index(default_profile),
                           format_func=lambda p: f"{p} · {PROFILE_HELP.get(p, '')}", key="train_profile")
    method = c2.selectbox("Method", list(METHODS), format_func=lambda m: METHOD_HELP.get(m, m), key="train_method")
    init = train_start.init_picker(project)
    budgets = list(training.TIME_BUDGETS)
    # One widget per profile, so each starts at its own default (the test profile at its seconds-long steps).
    budget_name = st.selectbox("Time budget", budgets, index=budgets.index(training.default_time_budget(profile)),
                               key=f"train_budget_{profile}",
                               help="How long the run may take. The profile's stages are scaled to fit and each "
                                    "stops at the deadline (plus one validation); \"profile steps\" runs the "
                                    "profile's fixed step counts.")
    time_budget_s = training.TIME_BUDGETS[budget_name]
    train_start.gsd_settings(project)
    st.markdown(f"**Device:** {training.device_line()}")
    try:
        plan = training.data_plan(project, profile)
    except PgsslError as exc:
        st.warning(str(exc), icon=":material/brush:")
        plan = None
    if plan is not None:
        st.markdown(f"**Tiles:** {len(plan.train)} labelled for training, {len(plan.pool)} more in the unlabelled "
                    f"pool, {len(plan.val)} for validation.")
        st.caption(f"Validation: {plan.note}."
                   + (" The test profile uses a small subset of the tiles." if profile in training.DATA_LIMITS else ""))
        _validation_size_note(validation_size(project, plan))
        if time_budget_s is not None:
            st.markdown(f"**Estimated duration:** at most {format_duration(time_budget_s)} (the time budget) "
                        "plus one validation")
            st.caption("The profile's stages are sized to the budget from this machine's measured speed; the "
                       "running job shows the budget's time left.")
        else:
            estimate = _estimate(project, method, profile, "auto")
            st.markdown(f"**Estimated duration:** about {format_duration(estimate.seconds)} for "
                        f"{estimate.steps} steps")
            extra = "" if estimate.overhead_known else "; validation and pseudo-labelling add to it"
            st.caption(f"An estimate from {estimate.source}{extra}. The running job shows the time left as a range "
                       "from its own measured steps.")
    live = registry.active()
    busy = train_progress.machine_busy_note(run_live=live is not None)
    if busy and live is None:
        st.caption(busy)
    if live is not None:
        st.info(f"Run {live.run_id} is running: one training run at a time. Watch or cancel it below.",
                icon=":material/hourglass_top:")
    choice = TrainConfig(method=method, profile=profile, init=init, time_budget_s=time_budget_s)
    if st.button("Start training", type="primary", disabled=plan is None or live is not None, key="train_start"):
        try:
            run_id = training.start_training(registry, project, choice)
        except PgsslError as exc:
            st.error(str(exc))
            return
        st.query_params[RUN_PARAM] = run_id
        st.rerun()
    if plan is not None:
        train_start.distributed_command(project, choice)


def _shown_run(project: Project, registry: JobRegistry) -> dict | None:
    """The live job of this project, else the run in the URL, else the newest run."""
    runs = training.train_runs(project)
    live = registry.active()
    wanted = live.run_id if live is not None and live.project_root == project.root else st.query_params.get(RUN_PARAM)
    return next((r for r in runs if r["id"] == wanted), runs[0] if runs else None)


def _progress_line(status: dict, plan: list, run: dict) -> None:
    """Progress bar with what the run does now (pseudo-labelling and validation included) and the
    remaining time as a range from this run's own step times."""
    progress = status.get("progress") or {}
    events = read_metrics(Path(run["path"]) / "metrics.jsonl")
    fraction = overall_fraction(plan, progress)
    text = train_progress.activity_line(progress)
    if status.get("state") in training.LIVE_STATES:
        if (run.get("config") or {}).get("time_budget_s") and progress.get("eta_s") is not None:
            # A budgeted run ends at its deadline: the budget's time left, honest by construction.
            text += f" · at most {format_duration(progress['eta_s'])} left (time budget)"
        else:
            eta = eta_range(plan, events, progress, train_progress.run_batch_size(run))
            text += f" · about {eta.text()} left" if eta else " · time left: measuring the first steps…"
    if status.get("state") == "done":
        fraction, text = 1.0, "finished"
    st.progress(fraction, text=text)
    for refusal in refusals(events):
        st.warning(refusal, icon=":material/block:")
    busy = train_progress.machine_busy_note(status.get("state") in training.LIVE_STATES)
    if busy:
        st.caption(busy)


def refusals(events: list[dict]) -> list[str]:
    """The messages of the run's pseudo-label refusals (``info`` events with ``refused``, written by
    :mod:`pgssl_core.train.pseudo_labelling`), oldest first."""
    return [str(e.get("message") or f"round {e.get('round', '?')} pseudo-labels refused")
            for e in events if e.get("kind") == "info" and e.get("refused")]


def _controls(project: Project, registry: JobRegistry, run: dict, state: str | None) -> None:
    if state in training.LIVE_STATES:
        owned = registry.get(run["id"]) is not None
        if st.button("Cancel run", key="train_cancel", disabled=not owned,
                     help=None if owned else "this run belongs to another server process"):
            training.cancel_training(registry, run["id"])
            st.toast("Cancelling: the run stops after its current step and keeps a checkpoint.")
    elif state in training.RESUMABLE_STATES:
        if st.button("Resume run", key="train_resume", type="primary"):
            try:
                training.resume_training(registry, project, run["id"])
            except PgsslError as exc:
                st.error(str(exc))
                return
            st.rerun()


def _decision_figures(decision: Decision, chosen_by_hand: bool = False) -> None:
    """The run's model and the one it was compared with, side by side, on the same validation tiles
    (``chosen_by_hand``: the user made the run's model active although the check did not adopt it)."""
    if not (math.isfinite(decision.candidate_iou) and math.isfinite(decision.incumbent_iou)):
        return
    what = "Agreement with your strokes" if decision.scoring == "strokes" else "IoU"
    c1, c2 = st.columns(2)
    gain = f"{decision.candidate_iou - decision.incumbent_iou:+.2f}"
    # a gain within the noise was not adopted: grey, not green, so the page claims no improvement it did not make
    c1.metric(f"{what}: this run's model", f"{decision.candidate_iou:.2f}",
              delta=gain if decision.activated else f"{gain} ({'chosen by hand' if chosen_by_hand else 'not adopted'})",
              delta_color="normal" if decision.activated else "off")
    c2.metric(f"{what}: {decision.incumbent}", f"{decision.incumbent_iou:.2f}")
    st.caption(f"Both measured the same way on the run's {decision.tiles} validation tile"
               f"{'s' if decision.tiles != 1 else ''} (probability ≥ 0.5, pixels pooled over the tiles).")


def _finished_model(project: Project, run: dict) -> None:
    """Say whether the finished run's model became the active model and why, with both figures; offer it in
    one click when it did not (a worse model never replaces a better one in silence)."""
    model = training.model_file(run)
    if model is None:
        return
    decision = training.run_decision(run)
    active = is_active_model(project, model)
    if active and decision is not None and not decision.activated:
        # chosen by hand against the check: say so, the figures below still show what the check found
        st.warning(f"**You chose this run's model by hand:** it is the active model, although the check did not "
                   f"adopt it ({decision.figures()}: {decision.reason}). The Label page's pre-fill and the Map "
                   f"page's “Predict all tiles” use it; choose {decision.incumbent} again under “Active model” to "
                   "go back.", icon=":material/pan_tool:")
    elif active:
        why = f" It beat {decision.incumbent}: {decision.figures()} ({decision.reason})." \
            if decision is not None and decision.activated else ""
        st.success(f"Finished: this run's model is the active model.{why} The Label page's pre-fill and the Map "
                   "page's “Predict all tiles” use it.", icon=":material/check_circle:")
    elif decision is not None:
        st.warning(f"**Finished, not activated:** {decision.figures()}: {decision.reason}. The run is kept; "
                   f"{decision.incumbent} stays in use unless you choose this run's model.",
                   icon=":material/shield:")
    else:
        st.info("Finished. Another model is active and stays so until you choose this one.")
    if decision is not None:
        _decision_figures(decision, chosen_by_hand=active and not decision.activated)
    if not active and st.button("Use this run's model", key="train_use_finished",
                                                         type="primary"):
        st.toast(f"Active model: {set_active_model(project, model)}")
        st.rerun(scope="app")


def _charts(run: dict) -> None:
    losses, vals = train_charts.metrics_tables(run["path"])
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Training loss per task**")
        if losses.empty:
            st.caption("No steps logged yet.")
        else:
            st.altair_chart(train_charts.loss_chart(losses), width="stretch")
    with c2:
        st.markdown("**Validation IoU**")
        if vals.empty:
            st.caption("No validation yet.")
        else:
            st.altair_chart(train_charts.val_chart(vals), width="stretch")
            last = vals.groupby(["round", "stage"], sort=False).last().reset_index()
            last = last[["round", "stage", "step", "iou", "f1"]]
            st.dataframe(last.style.format({"iou": "{:.3f}", "f1": "{:.3f}"}, na_rep="—"), hide_index=True)


def _live_panel_body(entry: ProjectEntry) -> None:
    registry = training.job_registry()
    with context.open_project(entry) as project:
        run = _shown_run(project, registry)
        holder = training.holder_line() if registry.active() is None else None
        if holder:
            st.warning(holder, icon=":material/lock:")
        if run is None:
            if not holder:
                st.caption("No training run yet.")
            return
        status = registry.status(run) or {}
        state = status.get("state")
        st.markdown(f"**Run {run['id']}** · {run['config'].get('method')} · {run['config'].get('profile')} profile")
        st.badge(state or "not started", color=STATE_COLORS.get(state, "gray"))
        _progress_line(status, run_plan(run["path"]), run)
        if status.get("error"):
            (st.warning if state in training.RESUMABLE_STATES else st.error)(status["error"])
        _controls(project, registry, run, state)
        if state == "done":
            _finished_model(project, run)
        _validation_size_note(training.run_validation_size(run), finished=True)
        if state == "done":
            validation_panel.validation_figures(project, run)
        _charts(run)
    # when a run leaves the live states, refresh the whole page once (history, start button)
    was_live = st.session_state.get("train_seen_live") == run["id"]
    st.session_state["train_seen_live"] = run["id"] if state in training.LIVE_STATES else None
    if was_live and state not in training.LIVE_STATES:
        st.rerun(scope="app")


def live_panel(entry: ProjectEntry, poll: bool) -> None:
    """Status, progress, cancel/resume and live charts of the current run, refreshed every 2 s while
    ``poll`` (a run is live); an idle page does not poll, so its charts do not redraw for nothing."""
    st.fragment(run_every=POLL_S if poll else None)(_live_panel_body)(entry)


def history_panel(project: Project, registry: JobRegistry) -> None:
    """Every training run with its figures, and the choice of the project's active model."""
    table = training.history_table(registry, project)
    if table.empty:
        st.caption("No runs yet.")
        return
    shown = table.style.format({"val IoU": "{:.3f}", "val F1": "{:.3f}", "wall (s)": "{:,.0f}"}, na_rep="—")
    st.dataframe(shown, hide_index=True, column_config={
        "val IoU": st.column_config.Column(help="of the run's model: its checkpoint with the best validation IoU "
                                                "over all stages; see “validated on” for how much validation that "
                                                "is (on strokes only it is agreement with them, not an accuracy)"),
        "when finished": st.column_config.Column(help="whether the run's model replaced the active one: only when "
                                                      "it beat it on the same validation tiles beyond the noise")})
    finished = [r for r in training.train_runs(project) if training.model_file(r) is not None]
    if not finished:
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Model", [r["id"] for r in finished], key="train_active_choice",
                          help="the model the Label and Map pages use for predictions: the run's checkpoint "
                               "with the best validation IoU (a late stage can be worse than an earlier one)")
    if c2.button("Use as active model", key="train_set_active"):
        run = next(r for r in finished if r["id"] == chosen)
        st.toast(f"Active model: {set_active_model(project, training.model_file(run))}")
        st.rerun()
    current = active_model_setting(project)
    st.caption(f"Active model: {current}" if current else "No active model yet.")
