"""Inference: blended sliding-window prediction over in-memory tiles and whole GeoTIFFs."""

from pgssl_core.infer.forward import forward_probabilities
from pgssl_core.infer.geotiff_out import NODATA, PROB_SCALE
from pgssl_core.infer.raster import PredictionSummary, predict_raster
from pgssl_core.infer.tile import predict_tile

__all__ = ["NODATA", "PROB_SCALE", "PredictionSummary", "forward_probabilities", "predict_raster", "predict_tile"]
