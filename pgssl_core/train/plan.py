"""The plan of a run: which stages, in which rounds, with how many steps.

A stage kind names one step of the method; :data:`pgssl_core.train.rounds.STAGE_FUNCTIONS` maps each kind
to the function that runs it (``segmenter.py``: teacher, supervised baseline, fine-tune; ``pretraining.py``).
Pseudo-labelling (``pseudo_labelling.py``) is not a kind of its own: it is the work a pretraining stage of
pgssl does before its first step, reported as an "activity" and not counted in the plan's steps.
"""

from __future__ import annotations

from enum import StrEnum

from pgssl_core.errors import PgsslError
from pgssl_core.train.profiles import Profile

METHODS = ("pgssl", "supervised", "byol", "inpaint")


class StageKind(StrEnum):
    """The kinds of training stage. Values are the names in progress events, checkpoints and stage files."""

    TEACHER = "teacher"  # round 1 of pgssl: supervised on the labelled tiles from the starting model
    SUPERVISED = "supervised"  # the supervised baseline: the same training, the whole run long
    PRETRAIN = "pretrain"  # pseudo-labels of the pool, then the pretraining tasks on the pool
    FINETUNE = "finetune"  # transfer of the pretrained network into a U-Net, supervised on the labelled tiles


PlanEntry = tuple[int, StageKind, int]  # (round, stage kind, steps)


def supervised_steps(profile: Profile) -> int:
    """Steps of the ``supervised`` baseline (see ``StageSettings.supervised_steps``)."""
    stages = profile.stages
    if stages.supervised_steps is not None:
        return stages.supervised_steps
    return stages.teacher_steps + stages.rounds * stages.finetune_steps


def plan(method: str, profile: Profile) -> list[PlanEntry]:
    """The (round, stage, steps) sequence of a run of ``method``.

    Raises:
        PgsslError: ``method`` is not one of :data:`METHODS`.
    """
    if method == "supervised":
        return [(1, StageKind.SUPERVISED, supervised_steps(profile))]
    stages = profile.stages
    if method in ("byol", "inpaint"):
        return [(1, StageKind.PRETRAIN, stages.pretrain_steps), (1, StageKind.FINETUNE, stages.finetune_steps)]
    if method != "pgssl":
        raise PgsslError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    steps: list[PlanEntry] = [(1, StageKind.TEACHER, stages.teacher_steps)]
    for r in range(1, stages.rounds + 1):
        steps += [(r, StageKind.PRETRAIN, stages.pretrain_steps), (r, StageKind.FINETUNE, stages.finetune_steps)]
    return steps
