"""Did pretraining help? A pgssl run against a supervised baseline on the same tiles and step budget.

- Baseline: ``run_training`` with the run's own ``TrainConfig`` (profile, seed, device, overrides)
  and ``method="supervised"``, on the same ``TrainingData`` (same labelled tiles, same validation
  tiles for its model selection), into ``RUN_DIR/baseline``. Its step budget is the engine's
  ``supervised_steps(profile)``: the labelled steps of the pgssl run (teacher + every fine-tune).
  ``RUN_DIR/baseline/tiles.json`` lists the labelled and validation tile ids it trained on.
- Comparison: both run models (``run_model_path``) predict the same validation tiles; the verdict
  is the difference of pooled building IoU; its 95% interval comes from a paired bootstrap over the
  validation tiles (2,000 draws) with Student-t quantiles (``bootstrap_interval``): few tiles give
  a wide interval and "no clear difference" is said whenever the interval holds zero.
- Per-round val IoU of the pgssl run comes from its history (``result.json``), and the
  label-budget curve from the finished runs of a project (val IoU against labelled tiles).

It trains with :mod:`pgssl_core.train` and measures with :mod:`pgssl_core.infer` (through
:mod:`pgssl_core.project.measure_model`), so it sits above both stages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pgssl_core.catalog import Project, RunKind
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json, json_safe
from pgssl_core.train.data import TrainingData
from pgssl_core.train.progress import ProgressCallback
from pgssl_core.train.rounds import RUN_CARD, TrainConfig, TrainResult, read_run_card, run_model_path, run_training

if TYPE_CHECKING:  # the Train page imports this module: geopandas and pvlib only when a comparison runs
    from pgssl_core.assess.model_error import TileConfusion
    from pgssl_core.project.run_jobs import StartedRun

BASELINE_DIR = "baseline"
TILES_FILE = "tiles.json"
COMPARISON_FILE = "comparison.json"
DRAWS = 2000
LEVEL = 0.95


def baseline_dir(run_dir: str | Path) -> Path:
    """Where a run's supervised baseline lives: ``RUN_DIR/baseline``."""
    return Path(run_dir) / BASELINE_DIR


def baseline_config(config: TrainConfig) -> TrainConfig:
    """The run's config with ``method="supervised"`` (everything else, e.g. profile and seed, kept)."""
    return replace(config, method="supervised")


def run_config(run_dir: str | Path) -> TrainConfig:
    """The ``TrainConfig`` a finished or started run was trained with (its run card); PgsslError without one."""
    card = read_run_card(run_dir)
    if card is None:
        raise PgsslError(f"{Path(run_dir) / RUN_CARD} does not hold a training config: is {Path(run_dir).name} a "
                         "training run?")
    return TrainConfig.from_dict(card["train"])


def tile_ids(data: TrainingData) -> dict[str, list[str]]:
    """Names of the labelled and validation tiles of ``data``."""
    return {"labelled": [str(s.get("name", "")) for s in data.labelled],
            "val": [str(s.get("name", "")) for s in data.val]}


def train_baseline(data: TrainingData, run_dir: str | Path, progress: ProgressCallback | None = None,
                   cancel: Callable[[], bool] | None = None, resume: bool = False) -> TrainResult:
    """Train the supervised baseline of the run in ``run_dir`` on ``data`` (the run's own data).

    Raises PgsslError when the run has no config or when ``data`` has a different number of
    labelled tiles than the run trained on (the labels changed since: not the same tiles).
    """
    config, out = prepare_baseline(data, run_dir)
    return run_training(data, config, out, progress=progress, cancel=cancel, resume=resume)


def prepare_baseline(data: TrainingData, run_dir: str | Path) -> tuple[TrainConfig, Path]:
    """Check ``data`` against the run, record its tile ids; returns the baseline's config and folder (for
    :func:`train_baseline`, or a background ``TrainingJob``). PgsslError as in :func:`train_baseline`."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    stored = (read_run_card(run_dir) or {}).get("data", {})
    if stored.get("labelled") is not None and int(stored["labelled"]) != len(data.labelled):
        raise PgsslError(f"run {run_dir.name} trained on {stored['labelled']} labelled tiles, the data given has "
                         f"{len(data.labelled)}: the baseline must train on the same tiles")
    out = baseline_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / TILES_FILE, tile_ids(data))
    return baseline_config(config), out


def start_baseline_run(project: Project, run_id: str, data: TrainingData) -> StartedRun:
    """Train the supervised baseline of the project's training run ``run_id`` on ``data`` (the run's own
    tiles, e.g. ``report.gather.run_data``) in the background, as a catalog run of kind ``baseline``.

    The row's config names the run it is compared with (``compared_with``), the folder the baseline trains
    into (``out``, ``RUN_DIR/baseline``, where this module reads it) and its ``train`` config; its own
    folder stays empty. Raises PgsslError as :func:`prepare_baseline`, or when another training job holds
    the machine (before anything is created).
    """
    from pgssl_core.machine_lock import machine_is_free
    from pgssl_core.project.run_jobs import start_run
    from pgssl_core.project.training_job import TrainingJob

    machine_is_free()  # a refused start leaves no row behind, as for a training run
    config, out = prepare_baseline(data, project.run(run_id).path)
    record = {"compared_with": run_id, "out": str(out), "train": config.to_dict()}
    return start_run(project, RunKind.BASELINE, record, lambda _run_id, _folder: TrainingJob(data, config, out))


# ---------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Comparison:
    """pgssl against its supervised baseline on the same ``tiles`` validation tiles.

    ``iou_pgssl`` / ``iou_baseline``: pooled building IoU; ``delta`` = pgssl - baseline with its
    bootstrap interval ``delta_low``..``delta_high`` (NaN with fewer than two tiles).
    """

    tiles: int
    iou_pgssl: float
    iou_baseline: float
    delta: float
    delta_low: float
    delta_high: float
    level: float = LEVEL
    tile_ids: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """The answer in plain words."""
        n = self.tiles
        where = f"on your {n} validation tile{'s' if n != 1 else ''}"
        if n < 2 or not np.isfinite(self.delta_low):
            return (f"cannot tell: {self.delta:+.2f} IoU over the supervised baseline {where}, and one tile "
                    "gives no idea of the spread; hold out more labelled tiles")
        interval = f"{self.level:.0%} interval {self.delta_low:+.2f} to {self.delta_high:+.2f}"
        if self.delta_low > 0:
            return f"pretraining helped: {self.delta:+.2f} IoU over the supervised baseline {where} ({interval})"
        if self.delta_high < 0:
            return (f"pretraining did not help: {self.delta:+.2f} IoU against the supervised baseline {where} "
                    f"({interval})")
        return f"no clear difference: {self.delta:+.2f} IoU over the supervised baseline {where} ({interval})"

    def to_dict(self) -> dict[str, Any]:
        """The comparison's fields plus its plain-words ``verdict``, JSON-ready."""
        return {**asdict(self), "verdict": self.verdict}


def compare_counts(pgssl: Sequence[TileConfusion], baseline: Sequence[TileConfusion], draws: int = DRAWS,
                   level: float = LEVEL, seed: int = 0) -> Comparison:
    """Paired comparison of two models' per-tile counts on the same tiles (same order, same ids)."""
    from pgssl_core.assess.model_error import bootstrap_interval
    from pgssl_core.assess.model_error import pooled_iou as _iou

    if [t.tile for t in pgssl] != [t.tile for t in baseline]:
        raise PgsslError("the two models were not evaluated on the same validation tiles")
    if not pgssl:
        raise PgsslError("no validation tiles: hold out labelled tiles (or add reference masks) to compare models")
    a = np.array([[t.tp, t.fp, t.fn] for t in pgssl], dtype=float)
    b = np.array([[t.tp, t.fp, t.fn] for t in baseline], dtype=float)
    iou_a, iou_b = float(_iou(a.sum(axis=0))), float(_iou(b.sum(axis=0)))
    low = high = float("nan")
    if len(a) >= 2:
        picks = np.random.default_rng(seed).integers(0, len(a), size=(draws, len(a)))
        boot = _iou(a[picks].sum(axis=1)) - _iou(b[picks].sum(axis=1))  # the same tiles for both: paired
        low, high = bootstrap_interval(iou_a - iou_b, boot, len(a), level)
    return Comparison(len(a), iou_a, iou_b, iou_a - iou_b, low, high, level, tuple(t.tile for t in pgssl))


def compare_with_baseline(run_dir: str | Path, val: Sequence[dict[str, Any]], device: str | None = None) -> Comparison:
    """Evaluate the run's model and its baseline's on ``val`` (samples with masks) and save the result
    as ``RUN_DIR/baseline/comparison.json``. PgsslError when either model is missing."""
    from pgssl_core.project.measure_model import tile_confusions

    run_dir = Path(run_dir)
    ours, theirs = run_model_path(run_dir), run_model_path(baseline_dir(run_dir))
    if ours is None:
        raise PgsslError(f"run {run_dir.name} has not finished: no model to compare")
    if theirs is None:
        raise PgsslError(f"run {run_dir.name} has no finished supervised baseline yet")
    result = compare_counts(tile_confusions(ours, val, device=device), tile_confusions(theirs, val, device=device))
    atomic_write_json(baseline_dir(run_dir) / COMPARISON_FILE, json_safe(result.to_dict()))  # NaN -> null
    return result


def load_comparison(run_dir: str | Path) -> Comparison | None:
    """The saved comparison of a run, or None."""
    path = baseline_dir(run_dir) / COMPARISON_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    nan = float("nan")
    return Comparison(int(data["tiles"]), float(data["iou_pgssl"]), float(data["iou_baseline"]), float(data["delta"]),
                      nan if data.get("delta_low") is None else float(data["delta_low"]),
                      nan if data.get("delta_high") is None else float(data["delta_high"]),
                      float(data.get("level", LEVEL)), tuple(data.get("tile_ids", ())))


# ---------------------------------------------------------------- rounds and the label budget


def round_ious(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Val IoU per (round, stage) of a run's history: best and last evaluation of each stage, in order.

    Pretraining stages are not evaluated on val (their model is no segmenter) and do not appear.
    """
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for h in history:
        if h.get("iou") is None or h.get("stage") is None:
            continue
        key = (int(h.get("round", 1)), str(h["stage"]))
        row = rows.setdefault(key, {"round": key[0], "stage": key[1], "best_iou": float("-inf"), "evaluations": 0})
        row["best_iou"] = max(row["best_iou"], float(h["iou"]))
        row["last_iou"] = float(h["iou"])
        row["evaluations"] += 1
    return list(rows.values())


def read_result(run_dir: str | Path) -> dict[str, Any] | None:
    """A finished run's ``result.json`` (method, history, best_iou, ...), or None."""
    path = Path(run_dir) / "result.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def label_budget(run_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Points of the label-budget curve: one per finished run (and per finished baseline).

    Each point: ``run``, ``method`` (``supervised (baseline)`` for baselines), ``labelled`` (tiles
    trained on, from the run's ``config.json``), ``val_tiles`` and ``best_iou`` (val IoU of the run's
    model). Runs validate on the tiles of their own time, which may differ between runs.
    """
    points = []
    for folder in map(Path, run_dirs):
        for path, method_of in ((folder, None), (baseline_dir(folder), "supervised (baseline)")):
            result = read_result(path)
            if result is None or result.get("best_iou") is None or not np.isfinite(result["best_iou"]):
                continue
            card = read_run_card(path)
            if card is None:
                continue
            data = card.get("data", {})
            points.append({"run": folder.name, "method": method_of or str(result.get("method")),
                           "labelled": int(data.get("labelled", 0)), "val_tiles": int(data.get("val", 0)),
                           "best_iou": float(result["best_iou"])})
    return points
