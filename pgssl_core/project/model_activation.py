"""Whether a finished run's model replaces the project's active model: only when it beats it on the run's
validation tiles by more than the noise, so a worse model never replaces a better one in silence.

Both models are scored the same way: the same validation tiles with the same masks, predicted as the map
predicts them (:func:`pgssl_core.project.measure_model.tile_confusions`, probability >= 0.5), building IoU
pooled over the pixels. The incumbent is the active model, or the shipped base model when there is none.

The rule (:func:`decide`), in this order:

1. Partly labelled validation tiles (scribbles) never activate a model by themselves: a model trained on a
   user's strokes agrees with more strokes of the same hand even when it is worse on whole tiles (one trial
   run scored 0.995 on strokes and 0.30 against reference masks, below the base model's 0.32).
2. Fewer than :data:`MIN_PAIRED_TILES` tiles: the spread of the gain over tiles cannot be estimated, so a
   gain cannot be told from noise.
3. Otherwise a paired bootstrap over the validation tiles: tiles are resampled with replacement, both
   models' pooled IoU is taken on the same draw, and the difference gives a 95% interval
   (:func:`pgssl_core.assess.model_error.bootstrap_interval`, Student-t, as the validation IoU's own
   interval). The run is activated only when the interval's lower end is above 0. Pairing matters: tiles
   that are hard for both models move both figures together and cancel in the difference, so a real
   gain shows with fewer tiles than two separate intervals would need. An interval wholly below 0 is said
   as such: the run is worse than the incumbent, not merely no better.

Otherwise the run is kept and the page shows both figures with the reason; the user may still choose it.
The decision is written to ``RUN_DIR/activation.json`` (:func:`read_decision`), so the run history and the
report show it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json
from pgssl_core.project.active_model import active_model_path, set_active_model
from pgssl_core.project.validation_size import MIN_VAL_TILES, ValidationSize, mask_size
from pgssl_core.shipped import BASE_MODEL_PATH

if TYPE_CHECKING:  # the Train page imports this module: geopandas and torch only when models are measured
    from pgssl_core.assess.model_error import TileConfusion

#: Where a run's decision is kept.
DECISION_FILE = "activation.json"
#: Fewest validation tiles from which a gain can be told from noise: the validation-size rule's minimum
#: (:data:`pgssl_core.project.validation_size.MIN_VAL_TILES`); with 1 or 2 tiles a bootstrap has 1 or 3
#: distinct resamples, not a spread.
MIN_PAIRED_TILES = MIN_VAL_TILES
DRAWS = 2000  # bootstrap draws, as for the validation IoU's interval (validation_iou.DRAWS)
LEVEL = 0.95
BASE_LABEL = "the base model"


@dataclass(frozen=True)
class Decision:
    """One run's activation decision. IoUs are pooled over ``tiles`` validation tiles (NaN when they could
    not be measured); ``gain_low``/``gain_high``: the 95% interval of the IoU gain (NaN when not computed);
    ``scoring``/``score_name``: what a score on the validation masks is (``ValidationSize.scoring`` and
    ``score_name()``: ``accuracy``, ``small`` or ``strokes``); ``incumbent``: what the run was compared with,
    in words; ``reason``: one line."""

    activated: bool
    reason: str
    candidate_iou: float
    incumbent_iou: float
    incumbent: str
    tiles: int
    scoring: str
    gain_low: float = math.nan
    gain_high: float = math.nan
    decided_at: float = 0.0
    score_name: str = ""

    def figures(self) -> str:
        """E.g. "IoU 0.30 vs 0.32 for the base model on your 3 validation tiles"."""
        if not (math.isfinite(self.candidate_iou) and math.isfinite(self.incumbent_iou)):
            return f"not compared with {self.incumbent}"
        what = "agreement with your strokes" if self.scoring == "strokes" else "IoU"
        return (f"{what} {self.candidate_iou:.2f} vs {self.incumbent_iou:.2f} for {self.incumbent} on your "
                f"{self.tiles} validation tile{'s' if self.tiles != 1 else ''}")

    def line(self) -> str:
        """E.g. "not activated: IoU 0.30 vs 0.32 for the base model on your 3 validation tiles (...)"."""
        head = "activated" if self.activated else "not activated"
        return f"{head}: {self.figures()} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild a decision from :meth:`to_dict` output; KeyError when a field is missing."""
        nums = ("candidate_iou", "incumbent_iou", "gain_low", "gain_high", "decided_at")
        values = {k: (math.nan if data.get(k) is None else float(data[k])) for k in nums}
        return cls(bool(data["activated"]), str(data["reason"]), incumbent=str(data["incumbent"]),
                   tiles=int(data["tiles"]), scoring=str(data["scoring"]), score_name=str(data.get("score_name", "")),
                   **values)


def paired_gain(candidate: Sequence[TileConfusion], incumbent: Sequence[TileConfusion], draws: int = DRAWS,
                level: float = LEVEL, seed: int = 0) -> tuple[float, float, float]:
    """Pooled-IoU gain of ``candidate`` over ``incumbent`` (per-tile counts of the same tiles, same order)
    and its ``level`` interval from a paired bootstrap over tiles: (gain, low, high); NaN ends with fewer
    than two tiles. PgsslError when the two lists do not name the same tiles."""
    from pgssl_core.assess.model_error import bootstrap_interval, pooled_iou

    if [t.tile for t in candidate] != [t.tile for t in incumbent] or not candidate:
        raise PgsslError("the two models were not measured on the same validation tiles")
    a = np.array([[t.tp, t.fp, t.fn] for t in candidate], dtype=float)
    b = np.array([[t.tp, t.fp, t.fn] for t in incumbent], dtype=float)
    gain = float(pooled_iou(a.sum(axis=0)) - pooled_iou(b.sum(axis=0)))
    if len(a) < 2:
        return gain, math.nan, math.nan
    picks = np.random.default_rng(seed).integers(0, len(a), size=(draws, len(a)))  # one draw for both models
    boot = pooled_iou(a[picks].sum(axis=1)) - pooled_iou(b[picks].sum(axis=1))
    low, high = bootstrap_interval(gain, boot, len(a), level)
    return gain, low, high


def decide(candidate: Sequence[TileConfusion], incumbent: Sequence[TileConfusion], incumbent_label: str,
           size: ValidationSize) -> Decision:
    """The rule of the module doc on per-tile counts of both models; ``size``: the validation masks'."""
    from pgssl_core.assess.model_error import pooled_iou

    def iou(counts: Sequence[TileConfusion]) -> float:
        return float(pooled_iou(np.array([[t.tp, t.fp, t.fn] for t in counts], dtype=float).sum(axis=0)))

    n = len(candidate)
    new, old = iou(candidate), iou(incumbent)
    gain, low, high = paired_gain(candidate, incumbent)
    common: dict[str, Any] = {"candidate_iou": new, "incumbent_iou": old, "incumbent": incumbent_label, "tiles": n,
              "scoring": size.scoring, "score_name": size.score_name(), "gain_low": low, "gain_high": high,
              "decided_at": time.time()}
    if size.scoring == "strokes":
        reason = (f"{size.tiles - size.complete_tiles} of the {size.tiles} validation tiles are only partly "
                  "labelled: agreement with strokes cannot show that a model is better; fully label validation "
                  "tiles (“Rest is background”) to let runs be compared")
        return Decision(False, reason, **common)
    if n < MIN_PAIRED_TILES:
        reason = f"fewer than {MIN_PAIRED_TILES} validation tiles cannot tell a gain from noise"
        return Decision(False, reason, **common)
    if high < 0:  # said apart: "includes 0" would be false, and a clear loss is what the user must hear
        reason = (f"worse than {incumbent_label}: the gain is {gain:+.2f}, its {LEVEL:.0%} interval over the tiles "
                  f"{low:+.2f} to {high:+.2f} lies below 0")
        return Decision(False, reason, **common)
    if not low > 0:
        reason = (f"no gain beyond the noise: the gain is {gain:+.2f}, its {LEVEL:.0%} interval over the tiles "
                  f"{low:+.2f} to {high:+.2f} includes 0")
        return Decision(False, reason, **common)
    reason = f"gain {gain:+.2f}, {LEVEL:.0%} interval {low:+.2f} to {high:+.2f} over the tiles"
    return Decision(True, reason, **common)


def incumbent_model(project: Project) -> tuple[Path, str]:
    """The model a new run must beat and its name: the active model (when its file exists), else the
    shipped base model."""
    active = active_model_path(project)
    if active is not None and active.is_file():
        try:
            shown = str(active.resolve().relative_to(project.root.resolve()))
        except ValueError:
            shown = active.name
        return active, f"the active model ({shown})"
    return BASE_MODEL_PATH, BASE_LABEL


def _validation_samples(project: Project, run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's validation tiles with the masks it validated on (its recorded ids), at the working GSD."""
    from pgssl_core.catalog.gsd_settings import project_gsd
    from pgssl_core.project.data_plan import _sample  # load_plan's reader; load_plan itself wants training tiles

    data = (run.get("config") or {}).get("data") or {}
    ids = tuple(data.get("val_ids") or ())
    if not ids:
        raise PgsslError(f"run {run['id']} recorded no validation tiles")
    mask = project.reference_mask if data.get("val_source") == "reference" else project.training_mask
    gsd = project_gsd(project)
    return [_sample(project, i, mask(i), gsd) for i in ids]


def decide_for_run(project: Project, run: Mapping[str, Any], model: Path, device: str | None = None) -> Decision:
    """Measure ``model`` (the run's) and the incumbent on the run's validation tiles and :func:`decide`.
    A measurement that fails (a model file unreadable, tiles gone) gives a decision not to activate, with
    the error as its reason: the run is kept either way."""
    from pgssl_core.project.measure_model import tile_confusions

    old_path, label = incumbent_model(project)
    try:
        samples = _validation_samples(project, run)
        size = mask_size([np.asarray(s["mask"]) for s in samples])
        new = tile_confusions(model, samples, device=device)
        old = tile_confusions(old_path, samples, device=device)
    except PgsslError as exc:
        return Decision(False, f"could not compare the models: {exc}", math.nan, math.nan, label, 0, "accuracy",
                        decided_at=time.time())
    return decide(new, old, label, size)


def activate_if_better(project: Project, run_id: str, model: Path, device: str | None = None) -> Decision:
    """:func:`decide_for_run`, make ``model`` the active model when it wins, and keep the decision in the
    run's folder (:data:`DECISION_FILE`)."""
    run = project.run(run_id)
    decision = decide_for_run(project, run, model, device)
    if decision.activated:
        set_active_model(project, model)
    atomic_write_json(Path(run["path"]) / DECISION_FILE, decision.to_dict())
    return decision


def read_decision(run_dir: str | Path) -> Decision | None:
    """The decision kept in ``run_dir`` (None for runs before the rule, CLI runs, or an unreadable file)."""
    path = Path(run_dir) / DECISION_FILE
    try:
        return Decision.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
