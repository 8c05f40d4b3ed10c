"""Training checkpoints: atomic writes, ``weights_only=True`` reads, RNG states as tensors.

Format ``pgssl-checkpoint/1``: ``{"format", "stage", "round", "step", "total", "modules": {name:
state_dict}, "optimizer", "scheduler", "rng": {"torch": ByteTensor, "cuda": [ByteTensor],
"generator": ByteTensor}, "config": plain dict, "run": plain dict (best IoU, history)}``.
Nothing in it needs pickle beyond tensors and plain containers, so an untrusted file cannot run code.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from pgssl_core.errors import ModelFileError
from pgssl_core.models.model_file import load_weights_file, save_weights_file

FORMAT = "pgssl-checkpoint/1"


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Global torch (and CUDA) RNG states plus the run's batch/augmentation generator, as tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, **fields: Any) -> None:
    """Write a checkpoint (see the module docstring for the fields)."""
    save_weights_file(path, {"format": FORMAT, **fields})


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    An unreadable checkpoint (truncated, corrupt, not a checkpoint) raises ``ModelFileError``, except in a
    run folder whose ``stages/`` holds finished stage files: then the result is a resume point with no
    stage (``"stage": None``), so a resume loads the finished stages from their files and starts the
    interrupted stage over, and the run's best IoU comes from ``best.pt`` (so a worse model never
    replaces it). A ``UserWarning`` says so in one line.
    """
    try:
        data = load_weights_file(path, "checkpoint")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelFileError(f"{Path(path).name} is not a pgssl training checkpoint")
        return data
    except ModelFileError as exc:
        fallback = _stage_files_resume_point(Path(path))
        if fallback is None:
            raise
        warnings.warn(f"{exc}; resuming from the finished stage files instead (the interrupted stage starts over)",
                      UserWarning, stacklevel=2)
        return fallback


def _stage_files_resume_point(path: Path) -> dict[str, Any] | None:
    """A checkpoint-shaped resume point that applies to no stage, when ``path``'s run has stage files."""
    stages = path.parent / "stages"
    if not (stages.is_dir() and any(stages.glob("*.pt"))):
        return None
    best_iou = -1.0
    try:
        best_iou = float(load_weights_file(path.parent / "best.pt")["meta"]["val"]["iou"])
    except (ModelFileError, KeyError, TypeError, ValueError):
        pass  # no usable best.pt: the next evaluation writes a new one
    return {"format": FORMAT, "stage": None, "round": None, "step": 0, "run": {"best_iou": best_iou, "history": []}}
