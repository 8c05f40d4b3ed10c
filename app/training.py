"""Training jobs of the app: a per-server registry of the running job, run status from memory or
disk, metrics as tables for the live charts, run history, the pre-start ETA and the active model.

Only :func:`job_registry` touches Streamlit (``st.cache_resource``: one registry per server process,
shared by every browser tab). Everything else takes plain arguments, so it is testable without a
script run. Worker threads never call Streamlit: they write ``status.json`` / ``metrics.jsonl`` and
the catalog; pages poll.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.machine_lock import JobBusyError, machine_is_free, train_lock_path
from pgssl_core.project.data_plan import DataPlan, load_plan, plan_project_data
from pgssl_core.project.training_job import TrainingJob, read_status
from pgssl_core.project.validation_size import ValidationSize, validation_size
from pgssl_core.train import PROFILES, TrainConfig, get_profile, plan, run_model_path
from pgssl_core.train.profiles import Profile
from pgssl_core.train.progress import read_metrics

RUN_KIND = "train"
LIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("interrupted", "cancelled")
SEG_STAGES = ("teacher", "supervised", "finetune")  # supervised segmentation steps, one forward each
# A pretraining step runs the segmentation head, BYOL on two views (online + target network) and
# inpainting: about three segmentation steps' work. Used only when no run of the profile has been timed.
PRETRAIN_COST = 3.0
# The tiny test profile trains on a small seeded subset so that it finishes in seconds on any project.
DATA_LIMITS: dict[str, dict[str, int]] = {"test": {"max_pool": 8, "max_val": 4}}
# Profiles not offered to users: "test" finishes in seconds with a toy network (for the test suite,
# which sets PGSSL_OFFER_TEST_PROFILE=1 to get it).
TEST_PROFILE, TEST_PROFILE_ENV = "test", "PGSSL_OFFER_TEST_PROFILE"
SPEED_SETTING = "train_speed"  # setting: {"<profile>@<device>": {"seg": s/step, "pretrain": s/step}}


# ---------------------------------------------------------------- the registry


@dataclass
class LiveJob:
    """A job started by this server process."""

    project_root: Path
    run_id: str
    job: TrainingJob


class JobRegistry:
    """The training jobs of this server process (at most one alive: the engine's lock is machine-wide)."""

    def __init__(self, lock_path: str | Path | None = None) -> None:
        self.lock_path = Path(lock_path) if lock_path is not None else train_lock_path()
        self._lock = threading.Lock()
        self.starting = threading.Lock()  # held while a run is being started (see start_training)
        self._jobs: dict[str, LiveJob] = {}

    def active(self) -> LiveJob | None:
        """The job still running in this process, if any."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.job.alive), None)

    def get(self, run_id: str) -> LiveJob | None:
        """The job of ``run_id`` if this process started it (alive or finished)."""
        with self._lock:
            return self._jobs.get(run_id)

    def add(self, live: LiveJob) -> None:
        with self._lock:
            self._jobs[live.run_id] = live


@st.cache_resource
def _registry(lock_path: str) -> JobRegistry:
    return JobRegistry(lock_path)


def job_registry() -> JobRegistry:
    """The registry of this server process (every tab and reload sees the same one)."""
    return _registry(str(train_lock_path()))


# ---------------------------------------------------------------- start, resume, cancel


@dataclass(frozen=True)
class TrainChoice:
    """What the user picked before starting."""

    method: str = "pgssl"
    profile: str = "quick"
    seed: int = 0
    device: str = "auto"
    init: str = "base"  # base | scratch | a model file path (see pgssl_core.models.init_model)

    def train_config(self) -> TrainConfig:
        return TrainConfig(method=self.method, profile=self.profile, seed=self.seed, device=self.device,
                           init=self.init)


def offered_profiles() -> list[str]:
    """The training profiles the Train page offers: not ``base`` (the shipped model's own recipe, an hour of
    CPU on thousands of tiles), and the tiny test profile only to the test suite."""
    return [p for p in PROFILES if p != "base" and (p != TEST_PROFILE or os.environ.get(TEST_PROFILE_ENV) == "1")]


def data_plan(project: Project, profile: str, seed: int = 0) -> DataPlan:
    """The tiles a run of ``profile`` would use (PgsslError when there are too few labels)."""
    return plan_project_data(project, seed=seed, **DATA_LIMITS.get(profile, {}))


def _ensure_idle(registry: JobRegistry) -> None:
    live = registry.active()
    if live is not None:
        raise JobBusyError(f"training run {live.run_id} is already running: wait for it or cancel it first")


def _launch(registry: JobRegistry, project: Project, run_id: str, run_dir: Path, choice: TrainChoice,
            plan_: DataPlan, resume: bool) -> None:
    """Read the data, start the job on its thread, and a watcher that files the result in the catalog."""
    try:
        data = load_plan(project, plan_)
        job = TrainingJob(data, choice.train_config(), run_dir, resume=resume, lock_path=registry.lock_path).start()
    except PgsslError as exc:
        project.update_run(run_id, "failed", {"error": str(exc)})
        raise
    registry.add(LiveJob(project.root, run_id, job))
    project.update_run(run_id, "running")
    threading.Thread(target=_file_result, args=(project.root, run_id, job, choice), daemon=True,
                     name=f"pgssl-train-watch-{run_id}").start()


def _file_result(project_root: Path, run_id: str, job: TrainingJob, choice: TrainChoice) -> None:
    """Wait for the job, then copy its outcome (and its measured speed) into the catalog."""
    final = job.join()
    with Project.open(project_root) as project:
        if final.get("state") == "done":  # before the catalog says "done", so a page that sees it sees both
            adopt_if_no_active_model(project, project.run(run_id))
        project.update_run(run_id, final.get("state", "failed"), run_metrics(final))
        speed = measured_speed(job.run_dir, get_profile(choice.profile))
        if speed and final.get("state") == "done" and not job.resume:
            # validation, pseudo-labelling and start-up: the share of the wall time outside the steps
            steps_only = estimate_run(choice.method, choice.profile, speed).seconds
            wall = run_metrics(final).get("wall_s")
            if wall and steps_only > 0:
                speed["overhead"] = max(1.0, wall / steps_only)
            key = f"{choice.profile}@{_device_name(choice.device)}"
            project.set_setting(SPEED_SETTING, {**(project.get_setting(SPEED_SETTING) or {}), key: speed})


def start_training(registry: JobRegistry, project: Project, choice: TrainChoice) -> str:
    """Register a ``train`` run in the project and start it in the background; returns the run id.

    Raises PgsslError (too few labels, another job running, ...) before anything starts.
    """
    # one start at a time per server: two tabs pressing Start together must not both get past the
    # idle check and leave the loser as a "failed" run row
    with registry.starting:
        _ensure_idle(registry)
        _ensure_lock_free(registry)
        plan_ = data_plan(project, choice.profile, choice.seed)
        # The tile ids are kept so that later figures (model error, the baseline) use exactly these tiles.
        config = {**choice.__dict__, "data": {"train": len(plan_.train), "pool": len(plan_.pool),
                                              "val": len(plan_.val), "val_source": plan_.val_source,
                                              "train_ids": list(plan_.train), "val_ids": list(plan_.val),
                                              "val_size": validation_size(project, plan_).to_dict()}}
        run_id, run_dir = project.create_run(RUN_KIND, config)
        _launch(registry, project, run_id, run_dir, choice, plan_, resume=False)
    return run_id


def _ensure_lock_free(registry: JobRegistry) -> None:
    """Raise JobBusyError when another process holds the machine's training lock (checked before a run
    row is made, so a refused start leaves nothing behind)."""
    machine_is_free(registry.lock_path)


def resume_training(registry: JobRegistry, project: Project, run_id: str) -> None:
    """Continue an interrupted or cancelled run from its checkpoint (the labels are read again)."""
    _ensure_idle(registry)
    run = project.run(run_id)
    status = run_status(registry, run)
    state = (status or {}).get("state")
    if state not in RESUMABLE_STATES:
        raise PgsslError(f"run {run_id} is {state or 'not started'}: only interrupted or cancelled runs can resume")
    cfg = run["config"]
    choice = TrainChoice(cfg.get("method", "pgssl"), cfg.get("profile", "quick"), int(cfg.get("seed", 0)),
                         cfg.get("device", "auto"), cfg.get("init", "base"))
    _launch(registry, project, run_id, Path(run["path"]), choice, data_plan(project, choice.profile, choice.seed),
            resume=True)


def cancel_training(registry: JobRegistry, run_id: str) -> bool:
    """Ask the run to stop (it checkpoints first); False when this process does not own it."""
    live = registry.get(run_id)
    if live is None or not live.job.alive:
        return False
    live.job.cancel()
    return True


# ---------------------------------------------------------------- status and metrics


def run_status(registry: JobRegistry, run: dict[str, Any]) -> dict[str, Any] | None:
    """The run's status: the live snapshot when this process runs it, else ``status.json`` (a run
    whose process is gone reads as ``interrupted``); None if it never started."""
    live = registry.get(run["id"])
    if live is not None and live.job.alive:
        return live.job.snapshot()
    return read_status(run["path"])


def any_live(registry: JobRegistry, project: Project) -> bool:
    """A run is queued or running: in this server process, or (per its status.json) in another one."""
    if registry.active() is not None:
        return True
    runs = train_runs(project)
    return bool(runs) and (run_status(registry, runs[0]) or {}).get("state") in LIVE_STATES


def run_metrics(status: dict[str, Any]) -> dict[str, Any]:
    """The figures kept in the catalog for a finished run."""
    metrics: dict[str, Any] = {}
    if status.get("val"):
        metrics["val"] = status["val"]
    if status.get("error"):
        metrics["error"] = status["error"]
    if status.get("model"):
        metrics["model"] = status["model"]
    if status.get("started") and status.get("ended"):
        metrics["wall_s"] = round(status["ended"] - status["started"], 1)
    return metrics


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


def loss_chart_table(losses: pd.DataFrame) -> pd.DataFrame:
    """Wide table for ``st.line_chart``: index step, one column per "task (stage)" series."""
    if losses.empty:
        return pd.DataFrame()
    series = losses.assign(series=losses["task"] + " (" + losses["stage"] + ")")
    return series.pivot_table(index="step", columns="series", values="loss", aggfunc="last")


def run_plan(run_dir: str | Path) -> list[tuple[int, str, int]]:
    """The run's (round, stage, steps) plan from its first ``info`` event ([] before it is written)."""
    for event in read_metrics(Path(run_dir) / "metrics.jsonl"):
        if event.get("kind") == "info" and event.get("plan"):
            return [(int(r), str(s), int(n)) for r, s, n in event["plan"]]
    return []


def overall_fraction(plan_: list[tuple[int, str, int]], progress: dict[str, Any] | None) -> float:
    """Share of the run's steps done, 0..1, from the plan and the latest progress event."""
    total = sum(n for _, _, n in plan_)
    if not total or not progress or "stage" not in progress:
        return 0.0
    where = _current_index(plan_, progress)  # pseudo-labelling: the start of its round's pretraining
    if where is None:
        return 0.0
    index, done_in_stage = where
    return min(1.0, (sum(n for _, _, n in plan_[:index]) + done_in_stage) / total)


# Pretraining step cost in segmentation steps when this run has not timed one yet: at least the 2.0x
# measured by benchmarks/train_throughput.py (README), at most PRETRAIN_COST (the design's bound).
PRETRAIN_COST_MEASURED = 2.0
RECENT_STEPS = 40  # step timings per kind that the ETA looks at: the machine's load changes during a run
PAUSE_S = 300.0  # a gap between events longer than this is a pause (cancelled and resumed), not overhead
PSEUDO_LABEL_STAGE = "pseudo_labels"


@dataclass(frozen=True)
class EtaRange:
    """Remaining time of a run, seconds: ``low_s`` .. ``high_s``."""

    low_s: float
    high_s: float

    def text(self) -> str:
        low, high = format_duration(self.low_s), format_duration(self.high_s)
        return low if low == high else f"{low} – {high}"


def _kind(stage: str) -> str:
    return "pretrain" if stage == "pretrain" else "seg"


def _current_index(plan_: list[tuple[int, str, int]], progress: dict[str, Any]) -> tuple[int, int] | None:
    """(index in the plan, steps done in it) of the latest progress event; pseudo-labelling counts as
    the start of its round's pretraining stage."""
    rnd, stage = int(progress.get("round", 1)), str(progress.get("stage"))
    if stage == PSEUDO_LABEL_STAGE:
        stage, done = "pretrain", 0
    else:
        done = int(progress.get("step", 0))
    index = next((i for i, (r, s, _n) in enumerate(plan_) if (r, s) == (rnd, stage)), None)
    return None if index is None else (index, done)


def eta_range(plan_: list[tuple[int, str, int]], events: list[dict[str, Any]], progress: dict[str, Any] | None,
              batch_size: int) -> EtaRange | None:
    """Remaining time of a run from its own measured step times, as a range.

    Per kind of step (segmentation, pretraining) the 10th-90th percentile of the last
    :data:`RECENT_STEPS` timed steps, times the steps left in the current stage and the stages still
    planned; a kind not timed yet is estimated from segmentation steps at 2-3x (see
    :data:`PRETRAIN_COST_MEASURED`). Both bounds are scaled by the run's measured overhead (wall time
    between events / time in steps: validation, pseudo-labelling, checkpoints). None before any timed step.
    """
    if not plan_ or not progress or "stage" not in progress:
        return None
    where = _current_index(plan_, progress)
    if where is None:
        return None
    times: dict[str, list[float]] = {"seg": [], "pretrain": []}
    steps = [e for e in events if e.get("kind") == "step" and e.get("images_per_s")]
    for e in steps:
        times[_kind(str(e.get("stage")))].append(batch_size / float(e["images_per_s"]))
    if not times["seg"] and not times["pretrain"]:
        return None
    import numpy as np  # app-side numeric helper; numpy is already loaded with pandas

    bounds: dict[str, tuple[float, float]] = {}
    for kind, values in times.items():
        if values:
            low, high = np.percentile(values[-RECENT_STEPS:], [10, 90])
            bounds[kind] = (float(low), float(high))
    if "pretrain" not in bounds:
        low, high = bounds["seg"]
        bounds["pretrain"] = (low * PRETRAIN_COST_MEASURED, high * PRETRAIN_COST)
    if "seg" not in bounds:
        low, high = bounds["pretrain"]
        bounds["seg"] = (low / PRETRAIN_COST, high / PRETRAIN_COST_MEASURED)
    index, done = where
    left = {"seg": 0, "pretrain": 0}
    for i, (_r, stage, n) in enumerate(plan_):
        if i > index:
            left[_kind(stage)] += n
        elif i == index:
            left[_kind(stage)] += max(n - done, 0)
    # overhead measured on this run: wall time between events (pauses left out) over the time in steps
    stamps = [float(e["time"]) for e in events if "time" in e]
    wall = sum(b - a for a, b in zip(stamps, stamps[1:]) if 0 <= b - a <= PAUSE_S)
    done_steps = {"seg": 0, "pretrain": 0}
    for i, (_r, stage, n) in enumerate(plan_[:index + 1]):
        done_steps[_kind(stage)] += done if i == index else n
    in_steps = sum(done_steps[k] * (bounds[k][0] + bounds[k][1]) / 2 for k in done_steps)
    overhead = max(1.0, wall / in_steps) if in_steps > 0 and wall > 0 else 1.0
    low = overhead * sum(left[k] * bounds[k][0] for k in left)
    high = overhead * sum(left[k] * bounds[k][1] for k in left)
    return EtaRange(low, high)


def run_batch_size(run: dict[str, Any]) -> int:
    """The batch size the run trains with (its ``config.json``, else its profile's)."""
    import json

    try:
        return int(json.loads((Path(run["path"]) / "config.json").read_text())["profile"]["batch_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return get_profile(run["config"].get("profile", "quick")).batch_size


def activity_line(progress: dict[str, Any] | None, now: float | None = None) -> str:
    """What the run is doing, for the progress bar: stage and step, pseudo-labelling, or validation,
    with how long ago it last reported (a sign of life while one step or stage takes long)."""
    if not progress or not progress.get("stage"):
        return "preparing (reading the tiles, building the model)…"
    stage, rnd = str(progress["stage"]), progress.get("round", 1)
    if stage == PSEUDO_LABEL_STAGE:
        what = f"round {rnd} · pseudo-labelling the unlabelled tiles · {progress.get('step', 0)}/{progress.get('total', '?')}"
    elif progress.get("kind") == "val":
        what = f"round {rnd} · {stage} · validating at step {progress.get('step', 0)}/{progress.get('total', '?')}"
    else:
        what = f"round {rnd} · {stage} · step {progress.get('step', 0)}/{progress.get('total', '?')}"
    stamp = progress.get("time")
    if stamp:
        ago = max(0.0, (now if now is not None else time.time()) - float(stamp))
        if ago >= 10:
            what += f" · last report {format_duration(ago)} ago"
    return what


def machine_busy_note(run_live: bool, load_1min: float | None = None, cores: int | None = None) -> str | None:
    """A line when other processes compete for the CPU (1-minute load average above the cores a run
    would use), since that slows training and makes every estimate longer; None otherwise."""
    try:
        load = os.getloadavg()[0] if load_1min is None else load_1min
    except OSError:  # not available on this platform
        return None
    cores = cores or os.cpu_count() or 1
    own = cores if run_live else 0  # a live run keeps about every core busy itself
    if load - own < max(1.0, cores / 2):  # others use less than half the cores: not worth a word
        return None
    return (f"The machine is busy: load {load:.1f} on {cores} cores"
            + (" besides this run" if run_live else "") + ". Other processes slow training down; "
            "the estimates assume the load stays as it is.")


# ---------------------------------------------------------------- history and active model


def train_runs(project: Project) -> list[dict[str, Any]]:
    """The project's training runs, newest first."""
    return [r for r in reversed(project.runs()) if r["kind"] == RUN_KIND]


def model_file(run: dict[str, Any]) -> Path | None:
    """The model a finished run offers (best on val, see ``run_model_path``); None while it runs."""
    return run_model_path(run["path"])


def active_model_setting(project: Project) -> str | None:
    return project.get_setting("active_model")


def set_active_model(project: Project, run: dict[str, Any]) -> str:
    """Make the run's model the project's active model; returns the stored path (relative to the
    project folder, so the project can be moved)."""
    path = model_file(run)
    if path is None:
        raise PgsslError(f"run {run['id']} has no model file yet: only finished runs can be the active model")
    try:
        value = str(path.resolve().relative_to(project.root.resolve()))
    except ValueError:
        value = str(path.resolve())
    project.set_setting("active_model", value)
    return value


def adopt_if_no_active_model(project: Project, run: dict[str, Any]) -> bool:
    """Make a finished run's model the active one when the project has none (or its file is gone);
    True when it did. A model the user chose is never replaced."""
    current = active_model_setting(project)
    if current and (project.root / current).is_file():
        return False
    if model_file(run) is None:
        return False
    set_active_model(project, run)
    return True


def is_active_model(project: Project, run: dict[str, Any]) -> bool:
    """The run's model is the project's active model."""
    active, model = active_model_setting(project), model_file(run)
    return bool(active and model and (project.root / active).resolve() == model.resolve())


def run_validation_size(run: dict[str, Any]) -> ValidationSize | None:
    """The validation size recorded when the run started (None for runs started before it was kept)."""
    data = (run.get("config") or {}).get("data") or {}
    return ValidationSize.from_dict(data["val_size"]) if data.get("val_size") else None


#: The run history shows at most this many runs (the newest); each row reads the run's status file.
MAX_RUNS_LISTED = 100


def history_table(registry: JobRegistry, project: Project) -> pd.DataFrame:
    """One row per training run (the newest :data:`MAX_RUNS_LISTED`), newest first: id, started, state,
    method, profile, val IoU, F1, wall time (s), active."""
    rows = []
    for run in train_runs(project)[:MAX_RUNS_LISTED]:
        status = run_status(registry, run) or {}
        val = status.get("val") or run["metrics"].get("val") or {}
        wall = run["metrics"].get("wall_s")
        is_active = is_active_model(project, run)
        rows.append({"run": run["id"], "started": run["created_at"][:19].replace("T", " "),
                     "state": status.get("state") or run["status"], "method": run["config"].get("method"),
                     "profile": run["config"].get("profile"), "val IoU": val.get("iou"), "val F1": val.get("f1"),
                     "validated on": _size_cell(run_validation_size(run)),
                     "wall (s)": wall, "active": "✓" if is_active else ""})
    return pd.DataFrame(rows, columns=["run", "started", "state", "method", "profile", "val IoU", "val F1",
                                       "validated on", "wall (s)", "active"])


def _size_cell(size: ValidationSize | None) -> str:
    if size is None:
        return "—"
    text = f"{size.tiles} tiles, {size.buildings} buildings"
    return f"⚠ too little: {text}" if size.too_little() else text


# ---------------------------------------------------------------- device and ETA


def _device_name(device: str = "auto") -> str:
    from pgssl_core.models.device import resolve_device

    return resolve_device(device).type


def device_line(device: str = "auto") -> str:
    """What a run will train on, in words."""
    from pgssl_core.models.device import describe_device, resolve_device

    return describe_device(resolve_device(device))


def measured_speed(run_dir: str | Path, profile: Profile) -> dict[str, float] | None:
    """Median seconds per step of a finished run's segmentation and pretraining stages."""
    per: dict[str, list[float]] = {"seg": [], "pretrain": []}
    for e in read_metrics(Path(run_dir) / "metrics.jsonl"):
        rate = e.get("images_per_s")
        if e.get("kind") == "step" and rate:
            per["pretrain" if e.get("stage") == "pretrain" else "seg"].append(profile.batch_size / rate)
    speed = {k: statistics.median(v) for k, v in per.items() if v}
    return speed or None


def benchmark_seg_step(profile_name: str, device: str = "auto", steps: int = 3) -> float:
    """Seconds per supervised training step of the profile's U-Net on random data (a rough measurement
    taking a few seconds; the first step is a warm-up and not counted)."""
    import torch

    from pgssl_core.models import create_model
    from pgssl_core.models.device import prepare_input, prepare_module, resolve_device
    from pgssl_core.train.rounds import model_config

    profile = get_profile(profile_name)
    dev = resolve_device(device)
    model = prepare_module(create_model(model_config(profile, 3)), dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(profile.batch_size, 3, profile.crop, profile.crop, generator=gen)
    y = torch.randint(0, 2, (profile.batch_size, profile.crop, profile.crop), generator=gen)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(prepare_input(x, dev)), y.to(dev))
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:] or times)


@dataclass(frozen=True)
class Estimate:
    """A pre-start estimate of a run's duration."""

    seconds: float
    steps: int
    source: str  # where the speed came from, e.g. "previous run" or "measured"
    overhead_known: bool = False  # True: validation and pseudo-labelling are included


def estimate_run(method: str, profile_name: str, speed: dict[str, float], source: str = "measured") -> Estimate:
    """Duration of a run from its plan and seconds per step (``seg``; ``pretrain`` defaults to
    :data:`PRETRAIN_COST` times ``seg``), times ``overhead`` (wall time / step time of the last
    finished run; 1 when unknown, i.e. validation and pseudo-labelling not counted)."""
    steps_plan = plan(method, get_profile(profile_name))
    seg = speed["seg"]
    pre = speed.get("pretrain", seg * PRETRAIN_COST)
    step_s = sum(n * (pre if stage == "pretrain" else seg) for _, stage, n in steps_plan)
    seconds = speed.get("overhead", 1.0) * step_s
    return Estimate(seconds, sum(n for _, _, n in steps_plan), source, "overhead" in speed)


def stored_speed(project: Project, profile_name: str, device: str = "auto") -> dict[str, float] | None:
    """Seconds per step recorded by the last finished run of this profile on this kind of device."""
    return (project.get_setting(SPEED_SETTING) or {}).get(f"{profile_name}@{_device_name(device)}")


def format_duration(seconds: float | None) -> str:
    """``"1 h 05 min"``, ``"3 min 20 s"``, ``"42 s"``; an em dash when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"
