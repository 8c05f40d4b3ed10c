"""A model measured on labelled tiles: per-tile building-pixel counts, predicted as the map predicts.

It joins three stages, so it sits above them: the model file is read by :mod:`pgssl_core.models`, each tile
is predicted by :func:`pgssl_core.infer.predict_tile` (the Map page's path, threshold 0.5 by default), and
the pixels are counted by :class:`pgssl_core.train.metrics.Confusion`. The counts feed the model-error
correction (:mod:`pgssl_core.assess.model_error`), the validation IoU with its interval
(:mod:`pgssl_core.project.validation_iou`) and the baseline comparison
(:mod:`pgssl_core.project.baseline_compare`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from pgssl_core.assess.model_error import TileConfusion
from pgssl_core.infer import predict_tile
from pgssl_core.models import load_model
from pgssl_core.train.metrics import Confusion


def tile_confusions(model_path: str | os.PathLike[str], samples: Iterable[dict[str, Any]],
                    threshold: float = 0.5, device: str | None = None) -> list[TileConfusion]:
    """Per-tile building counts of the model file ``model_path`` on ``samples``.

    Args:
        model_path: a model file (``models.save_model``).
        samples: dicts with ``image`` (H, W, 3) uint8, ``mask`` (H, W) 0/1 with 255 = not labelled (not
            counted) and ``name``.
        threshold: probability at or above which a pixel is predicted building.
        device: torch device name; None for the CPU.

    Returns:
        One :class:`TileConfusion` (TP, FP, FN building pixels) per sample, in order.

    Raises:
        PgsslError: the model file cannot be read.
    """
    model, config, _meta = load_model(model_path, device or "cpu")
    out = []
    for sample in samples:
        conf = Confusion()
        prob = predict_tile(model, config, sample["image"], device=device)
        conf.add((prob >= threshold).astype(np.uint8), sample["mask"])
        out.append(TileConfusion(str(sample.get("name", "")), conf.tp, conf.fp, conf.fn))
    return out
