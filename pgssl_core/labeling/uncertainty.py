"""Which tiles to label next: the ones the current model is least sure about.

Score of a tile = mean binary entropy (bits, in [0, 1]) of the model's building probability
over the tile's valid pixels. A tile where the model says 0.5 everywhere scores 1; a tile of
confident 0s and 1s scores near 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pgssl_core.catalog import Project
from pgssl_core.tiles.gsd import tile_gsd_m

if TYPE_CHECKING:  # torch is only needed by the caller's model; keep this module light to import
    from torch import nn

    from pgssl_core.models import ModelConfig


class Predictor(Protocol):
    """(model, config, image (H, W, 3) uint8, source_gsd_m=the tile's GSD in m/px or None) -> building
    probability (H, W) float32 in [0, 1], e.g. :func:`pgssl_core.infer.predict_tile`."""

    def __call__(self, model: nn.Module, config: ModelConfig, image: np.ndarray, /, *,
                 source_gsd_m: float | None = None) -> np.ndarray:
        """Building probability (H, W) of ``image`` seen at ``source_gsd_m``."""


Progress = Callable[[int, int], None]

_EPS = 1e-6  # keeps log2 finite at probabilities of exactly 0 or 1


def binary_entropy(prob: np.ndarray) -> np.ndarray:
    """Per-pixel entropy in bits (same shape as ``prob``) of Bernoulli(``prob``), ``prob`` in [0, 1]."""
    p = np.clip(np.asarray(prob, dtype=np.float64), _EPS, 1.0 - _EPS)
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))


def mean_binary_entropy(prob: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean of :func:`binary_entropy` over ``valid`` pixels (all if None); 0.0 if none is valid."""
    entropy = binary_entropy(prob)
    if valid is not None:
        entropy = entropy[np.asarray(valid, dtype=bool)]
    return float(entropy.mean()) if entropy.size else 0.0


def rank_by_uncertainty(scores: Mapping[str, float], limit: int | None = None) -> list[tuple[str, float]]:
    """(tile id, score) pairs, most uncertain first (ties by id, so the order is deterministic)."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return ranked if limit is None else ranked[:limit]


def prediction_to_labels(prob: np.ndarray, threshold: float = 0.5, valid: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8 label mask from a probability map: 1 where ``prob >= threshold``, else 0; no-data -> 255."""
    labels = (np.asarray(prob) >= threshold).astype(np.uint8)
    if valid is not None:
        labels[~np.asarray(valid, dtype=bool)] = 255
    return labels


@dataclass(frozen=True)
class RankedTile:
    """One suggestion of "label these next": tile id, its name and its uncertainty score (bits)."""

    tile_id: str
    name: str
    score: float


def unlabelled_tile_ids(project: Project) -> list[str]:
    """Tiles training cannot use yet (never saved, or saved without a painted pixel and not complete)."""
    return [r.id for r in project.tiles() if not r.label_state.trainable]


def label_these_next(project: Project, model: nn.Module, config: ModelConfig, predict: Predictor,
                     limit: int = 10, max_candidates: int = 200,
                     progress: Progress | None = None) -> list[RankedTile]:
    """Rank unlabelled tiles of ``project`` by model uncertainty; the ``limit`` most uncertain first.

    At most ``max_candidates`` tiles are scored (the first ones in catalogue order), which
    bounds the time on a CPU (one forward pass per tile). ``predict`` is e.g.
    :func:`pgssl_core.infer.predict_tile` (injected so this module does not depend on how
    inference is tiled); it receives each tile's GSD as ``source_gsd_m`` so the model sees the tile at
    its working GSD.
    """
    from pgssl_core.catalog.gsd_settings import project_gsd

    stated = project_gsd(project).tile_gsd_m
    candidates = unlabelled_tile_ids(project)[:max_candidates]
    names = {r.id: r.original_name for r in project.tiles()}
    scores: dict[str, float] = {}
    for done, tile_id in enumerate(candidates):
        tile = project.read(tile_id)
        gsd = tile_gsd_m(tile.transform, tile.crs, tile.width, tile.height, stated, tile_id)
        prob = predict(model, config, tile.image, source_gsd_m=gsd)
        scores[tile_id] = mean_binary_entropy(prob, tile.valid)
        if progress is not None:
            progress(done + 1, len(candidates))
    return [RankedTile(tile_id, names[tile_id], score) for tile_id, score in rank_by_uncertainty(scores, limit)]
