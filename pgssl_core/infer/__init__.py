"""Inference: blended sliding-window prediction over in-memory tiles and whole GeoTIFFs.

Names are imported on first use (module ``__getattr__``), so that ``pgssl_core.infer.settings`` can be read
without importing torch (the command line builds its options from it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgssl_core.infer.forward import forward_probabilities
    from pgssl_core.infer.pipeline import predict_file, predict_rasters
    from pgssl_core.infer.raster import PredictionSummary, predict_raster
    from pgssl_core.infer.settings import PredictSettings
    from pgssl_core.infer.tile import predict_tile

_HOMES = {"forward_probabilities": "forward", "predict_file": "pipeline", "predict_rasters": "pipeline",
          "PredictionSummary": "raster", "predict_raster": "raster", "PredictSettings": "settings",
          "predict_tile": "tile"}

__all__ = ["PredictSettings", "PredictionSummary", "forward_probabilities", "predict_file", "predict_raster",
           "predict_rasters", "predict_tile"]


def __getattr__(name: str) -> Any:
    """The public name ``name`` from the module that defines it."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
