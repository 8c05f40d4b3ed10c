"""PGSSL training engine: teacher, pseudo-labels, pretraining tasks, transfer, alternating rounds.

The stages: ``segmenter.py`` (supervised training: the teacher, the supervised baseline, transfer and
fine-tune), ``pseudo_labelling.py`` (where the confidence weights of pseudo-labels are made),
``pretraining.py`` (the tasks, one class each, in ``pretraining_tasks.py``; their network in
``pretrain_model.py``); ``plan.py`` lists a run's stages, ``rounds.py`` runs them, ``profiles.py`` holds the
nested profiles.

A new kind of stage: a ``StageKind`` member, a function ``fn(run, round, steps)`` beside the stages of its kind,
its entry in ``rounds.STAGE_FUNCTIONS`` and its place in ``plan.plan``. A new pretraining task: one
``PretrainTask`` class registered with ``@register_task`` in ``pretraining_tasks.py`` (its head, loss and
default weight with it; docs/ARCHITECTURE.md has the recipe). Under ``torchrun`` the same code trains
distributed (``pgssl_core.distributed``).

Entry points: :func:`run_training` (a whole run), :class:`TrainingData` (what it trains on),
:class:`TrainConfig` / profiles, and :mod:`pgssl_core.project.training_job` (background jobs for the app).
"""

from pgssl_core.train.data import Sample, TrainingData, load_folder, make_sample, split_label_fraction
from pgssl_core.train.loop import TrainingCancelled, TrainingError
from pgssl_core.train.plan import METHODS, StageKind, plan
from pgssl_core.train.profiles import PROFILES, Profile, get_profile
from pgssl_core.train.rounds import STAGE_FUNCTIONS, TrainConfig, TrainResult, run_model_path, run_training

__all__ = [
    "METHODS", "PROFILES", "STAGE_FUNCTIONS", "Profile", "Sample", "StageKind", "TrainConfig", "TrainResult",
    "TrainingCancelled", "TrainingData", "TrainingError", "get_profile", "load_folder", "make_sample", "plan",
    "run_model_path", "run_training", "split_label_fraction",
]
