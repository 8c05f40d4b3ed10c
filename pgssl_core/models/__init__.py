"""Segmentation networks: a name-based factory, input normalisation, model files, the device a network
runs on (:mod:`pgssl_core.models.device`) and padded logits (:mod:`pgssl_core.models.logits`).

Training (``pgssl_core.train``) and inference (``pgssl_core.infer``) both go through this package,
so a model trained by one is read by the other with the same normalisation.
"""

from pgssl_core.models.factory import ModelConfig, create_model
from pgssl_core.models.model_file import load_model, save_model
from pgssl_core.models.preprocess import images_to_tensor

__all__ = [
    "ModelConfig",
    "create_model",
    "images_to_tensor",
    "load_model",
    "save_model",
]
