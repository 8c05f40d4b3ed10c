"""Background "predict all tiles" job: a thread, a thread-safe snapshot and ``status.json`` on disk.

The status file has the same shape as a training job's (``state``, ``error``, ``pid``, times,
``progress``, from :mod:`pgssl_core.background`) so that :func:`read_status` reads it, including its rule that a
"running" run whose process or thread is gone is reported as "interrupted". An interrupted run is
resumed by starting a job on the same folder: finished tiles are skipped.
No Streamlit here: the app polls :meth:`PredictJob.snapshot` or ``read_status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgssl_core.background import BackgroundJob, read_status
from pgssl_core.catalog import Project
from pgssl_core.project.predict import PredictionCancelled, predict_project

__all__ = ["PredictJob", "read_status"]


class PredictJob(BackgroundJob):
    """Predict every tile of the project at ``project_root`` into ``run_dir`` on a daemon thread.

    ``tile_ids`` (optional) limits it to those tiles (part of the project, drawn on the Map page). Its catalog
    run is created and filed by :mod:`pgssl_core.project.run_jobs`, which keeps ``tiles`` and ``footprints``.
    """

    cancelled_errors = (PredictionCancelled,)
    kind = "predict"

    def __init__(self, project_root: str | Path, model_path: str | Path, run_dir: str | Path,
                 tile_ids: Sequence[str] | None = None) -> None:
        super().__init__(run_dir)
        self.project_root, self.model_path = Path(project_root), Path(model_path)
        self.tile_ids = None if tile_ids is None else frozenset(tile_ids)

    def initial_fields(self) -> dict[str, Any]:
        """Status fields set when the job is queued: the model path and empty progress."""
        return {"model": str(self.model_path), "progress": {"done": 0, "total": None}}

    def work(self) -> dict[str, Any]:
        """Predict every tile of the project (or the job's ``tile_ids``) with its model (its own project handle).

        Returns:
            The ``tiles`` and ``footprints`` entries of the written prediction manifest.
        """
        # a handle of its own: the page's handle closes when its script run ends
        with Project.open(self.project_root) as project:
            maps = predict_project(project, self.model_path, self.run_dir, progress=self._on_progress,
                                   cancel=self._cancel.is_set, tile_ids=self.tile_ids)
        return {"tiles": maps.manifest["tiles"], "footprints": maps.manifest["footprints"]}

    def _on_progress(self, done: int, total: int) -> None:
        self._write(force=done == total, progress={"done": done, "total": total})
