"""Inference: blended sliding-window prediction over in-memory tiles and whole GeoTIFFs."""

from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.raster import PredictionSummary, predict_raster
from pgssl_core.infer.tile import predict_tile

__all__ = ["PredictionSummary", "forward_probabilities", "predict_raster", "predict_tile"]
