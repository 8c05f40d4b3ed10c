"""The life of a project's background job, one owner for every kind (:class:`~pgssl_core.catalog.RunKind`:
training, "predict all tiles", the supervised baseline of a training run): create its catalog row, start it,
file its result.

- create: a ``runs`` row (the kind, the config asked for, status ``created``) and its empty folder;
- start: the row turns ``running``, then the job (:class:`~pgssl_core.background.BackgroundJob`) starts on its
  thread. A refusal (another training holds the machine, too few labels, unreadable tiles) marks the row
  ``failed`` with the reason, and the error goes on to the caller;
- file: when the job ends, on its own thread, the row gets the final state and the figures of
  :func:`run_metrics`, then ``on_filed`` runs (e.g. the training speed measured by a finished run).

The job's own files (``status.json``, the run card, models, maps) are the job's: the catalog writes none
(:mod:`pgssl_core.catalog.runs`). No Streamlit here: the app keeps the started jobs in its registry and polls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgssl_core.background import BackgroundJob
from pgssl_core.catalog import Project, RunKind, RunRecord
from pgssl_core.errors import PgsslError

#: ``make_job(run_id, run_folder)``: the job of a run, not started yet.
JobFactory = Callable[[str, Path], BackgroundJob]
#: ``on_filed(project, run_id, status)``: runs after the result was filed (a project handle of its own).
OnFiled = Callable[[Project, str, dict[str, Any]], None]

#: The fields of a job's final status each kind keeps in its catalog row, besides ``error`` and ``wall_s``.
RESULT_FIELDS: dict[RunKind, tuple[str, ...]] = {
    RunKind.TRAIN: ("val", "model", "activation"),
    RunKind.BASELINE: ("val", "model"),
    RunKind.PREDICT: ("tiles", "footprints"),
}


@dataclass(frozen=True)
class StartedRun:
    """A started job and its catalog run: ``run_id``, the row's folder ``run_dir`` and the ``job``."""

    run_id: str
    run_dir: Path
    job: BackgroundJob


def run_metrics(kind: RunKind, status: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a run of ``kind`` keeps in the catalog from its job's final ``status``: the
    :data:`RESULT_FIELDS` it has (None left out), the ``error`` if any, and ``wall_s`` (seconds from start to
    end, 0.1 s) once it ran."""
    metrics = {k: status[k] for k in RESULT_FIELDS[kind] if status.get(k) is not None}
    if status.get("error"):
        metrics["error"] = status["error"]
    if status.get("started") and status.get("ended"):
        metrics["wall_s"] = round(status["ended"] - status["started"], 1)
    return metrics


def start_run(project: Project, kind: RunKind, config: Mapping[str, Any], make_job: JobFactory,
              on_filed: OnFiled | None = None) -> StartedRun:
    """Create a run of ``kind`` asked to run with ``config`` (JSON-ready), start its job, file its result.

    Raises:
        PgsslError: the job refused to start (the row is then ``failed`` with the reason, as for any error
            while the job is made or started), or ``config`` is not JSON (CatalogError, nothing created).
    """
    run_id, run_dir = project.create_run(kind, dict(config))
    return _start(project, kind, run_id, run_dir, make_job, on_filed)


def resume_run(project: Project, run: RunRecord, make_job: JobFactory, on_filed: OnFiled | None = None) -> StartedRun:
    """Start a new job on the existing run ``run`` (e.g. from its checkpoint, or skipping finished tiles) and
    file its result as :func:`start_run` does. PgsslError as there."""
    return _start(project, run.kind, run.id, run.path, make_job, on_filed)


def _start(project: Project, kind: RunKind, run_id: str, run_dir: Path, make_job: JobFactory,
           on_filed: OnFiled | None) -> StartedRun:
    # "running" before the thread starts: a job that ends at once must not have its filed result overwritten
    project.update_run(run_id, "running")
    try:
        job = make_job(run_id, run_dir)
        job.on_end(lambda status: _file(project.root, kind, run_id, status, on_filed))
        job.start()
    except Exception as exc:  # noqa: BLE001 - the row must not stay "running" without a job; re-raised
        error = str(exc) if isinstance(exc, PgsslError) else f"{type(exc).__name__}: {exc}".splitlines()[0]
        project.update_run(run_id, "failed", {"error": error})
        raise
    return StartedRun(run_id, run_dir, job)


def _file(project_root: Path, kind: RunKind, run_id: str, status: dict[str, Any], on_filed: OnFiled | None) -> None:
    """On the job's thread: the final state and figures into the row (a project handle of its own, since the
    starter's may be closed by now)."""
    try:
        with Project.open(project_root) as project:
            project.update_run(run_id, status.get("state", "failed"), run_metrics(kind, status))
            if on_filed is not None:
                on_filed(project, run_id, status)
    except PgsslError:
        pass  # the project is gone or locked: the job's status.json still says how it ended
