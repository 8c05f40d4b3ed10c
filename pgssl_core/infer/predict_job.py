"""Background "predict all tiles" job: a thread, a thread-safe snapshot and ``status.json`` on disk.

The status file has the same shape as a training job's (``state``, ``error``, ``pid``, times,
``progress``) so that :func:`pgssl_core.train.jobs.read_status` reads it, including its rule that a
"running" run whose process or thread is gone is reported as "interrupted". An interrupted run is
resumed by starting a job on the same folder: finished tiles are skipped.
No Streamlit here: the app polls :meth:`PredictJob.snapshot` or ``read_status``.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.infer.project_predict import PredictionCancelled, predict_project
from pgssl_core.io import atomic_write_json
from pgssl_core.train.jobs import _LIVE, read_status  # one liveness registry for every job kind

__all__ = ["PredictJob", "read_status"]


class PredictJob:
    """Predict every tile of the project at ``project_root`` into ``run_dir`` on a daemon thread.

    ``run_id`` (optional) is the catalog run updated with the final state and counts.
    """

    def __init__(self, project_root: str | Path, model_path: str | Path, run_dir: str | Path,
                 run_id: str | None = None) -> None:
        self.project_root, self.model_path = Path(project_root), Path(model_path)
        self.run_dir, self.run_id = Path(run_dir), run_id
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._last_write = 0.0

    def _write(self, force: bool = False, **fields: Any) -> None:
        with self._lock:
            self._status.update(fields)
            now = time.time()
            if force or now - self._last_write > 1.0:  # throttled: a tile takes well under a second
                self._last_write = now
                atomic_write_json(self.run_dir / "status.json", self._status)

    def start(self) -> PredictJob:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _LIVE.add(str(self.run_dir.resolve()))
        self._write(force=True, state="queued", error=None, pid=os.getpid(), created=time.time(),
                    model=str(self.model_path), progress={"done": 0, "total": None})
        self._thread = threading.Thread(target=self._run, name=f"pgssl-predict-{self.run_dir.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        final: dict[str, Any] = {}
        try:
            self._write(force=True, state="running", started=time.time())
            # a handle of its own: the page's handle closes when its script run ends
            with Project.open(self.project_root) as project:
                maps = predict_project(project, self.model_path, self.run_dir, progress=self._on_progress,
                                       cancel=self._cancel.is_set)
            final = {"state": "done", "tiles": maps.manifest["tiles"], "footprints": maps.manifest["footprints"]}
        except PredictionCancelled as exc:
            final = {"state": "cancelled", "error": str(exc)}
        except PgsslError as exc:
            final = {"state": "failed", "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a worker must report, not die silently
            final = {"state": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                     "traceback": traceback.format_exc()}
        finally:
            self._write(force=True, ended=time.time(), **final)
            self._record(final)
            _LIVE.discard(str(self.run_dir.resolve()))

    def _record(self, final: dict[str, Any]) -> None:
        if self.run_id is None:
            return
        try:
            with Project.open(self.project_root) as project:
                project.update_run(self.run_id, final.get("state", "failed"),
                                   {k: final[k] for k in ("tiles", "footprints") if k in final})
        except PgsslError:
            pass  # the status file already says how it ended; the catalog row is a convenience

    def _on_progress(self, done: int, total: int) -> None:
        self._write(force=done == total, progress={"done": done, "total": total})

    def snapshot(self) -> dict[str, Any]:
        """A copy of the current status (thread-safe)."""
        with self._lock:
            return dict(self._status)

    def cancel(self) -> None:
        """Stop before the next tile (finished tiles stay for a resume)."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> dict[str, Any]:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
