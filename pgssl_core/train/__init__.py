"""PGSSL training engine: teacher, pseudo-labels, three-task pretraining, transfer, alternating rounds.

Entry points: :func:`run_training` (a whole run), :class:`TrainingData` (what it trains on),
:class:`TrainConfig` / profiles, and :mod:`pgssl_core.train.jobs` (background jobs for the app).
"""

from pgssl_core.train.data import Sample, TrainingData, load_folder, make_sample, split_label_fraction
from pgssl_core.train.loop import TrainingCancelled, TrainingError
from pgssl_core.train.profiles import PROFILES, Profile, get_profile
from pgssl_core.train.rounds import METHODS, TrainConfig, TrainResult, plan, run_model_path, run_training

__all__ = [
    "METHODS", "PROFILES", "Profile", "Sample", "TrainConfig", "TrainResult", "TrainingCancelled", "TrainingData",
    "TrainingError", "get_profile", "load_folder", "make_sample", "plan", "run_model_path", "run_training",
    "split_label_fraction",
]
