"""Where a training run starts: the shipped base building model, random weights, or a model file.

``init`` is ``"base"`` (the default: ``assets/models/base_building.pt``, trained by this project on the
shared OAM ``train`` split only; its card is ``assets/models/README.md``), ``"scratch"`` (random weights)
or the path of a pgssl model file. A model whose input band count differs from the project's tiles
cannot start the run: it falls back to scratch and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from pgssl_core.errors import ModelFileError
from pgssl_core.models.factory import ModelConfig
from pgssl_core.models.model_file import load_model
from pgssl_core.models.onnx_engine import forget_source
from pgssl_core.shipped import BASE_MODEL_PATH  # one definition; importers of this module may keep using it here


@dataclass
class InitModel:
    """The resolved starting point: ``kind`` is "base", "scratch" or "file"; ``model``/``config`` are None
    for scratch; ``message`` says in one line what was used and why (shown to the user, kept in the run card)."""

    kind: str
    path: Path | None
    model: nn.Module | None
    config: ModelConfig | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        """Kind, model path and message as a JSON-ready dict, for the run card."""
        return {"kind": self.kind, "path": str(self.path) if self.path else None, "message": self.message}


def base_model_available() -> bool:
    """True when the shipped base model file is present."""
    return BASE_MODEL_PATH.is_file()


def init_path(init: str) -> Path | None:
    """The model file that ``init`` names (None for scratch)."""
    if init == "scratch":
        return None
    return BASE_MODEL_PATH if init == "base" else Path(init)


def resolve_init(init: str, bands: int) -> InitModel:
    """Load the starting model that ``init`` names for tiles of ``bands`` bands.

    Raises ``ModelFileError`` (one line) when a named file is missing or unreadable; a band-count
    mismatch is not an error but a fallback to scratch, explained in ``message``.
    """
    path = init_path(init)
    if path is None:
        return InitModel("scratch", None, None, None, "started from random weights (scratch)")
    kind = "base" if init == "base" else "file"
    if path.is_dir():
        raise ModelFileError(f"--init {path} is a folder, not a model file (give best.pt or model.pt inside it)")
    if kind == "base" and not path.is_file():
        raise ModelFileError(f"the base model {path} is missing from this installation; use --init scratch")
    model, config, _ = load_model(path)
    forget_source(model)  # a starting point for training: PyTorch runs it, its weights are about to change
    label = "the base building model" if kind == "base" else f"model file {path.name}"
    if config.in_channels != bands:
        return InitModel("scratch", None, None, None,
                         f"started from scratch: {label} takes {config.in_channels} bands, the tiles have {bands}")
    return InitModel(kind, path, model, config, f"started from {label}")


#: How the app names the base model before a project has its own: its figures come from other imagery, and a
#: planner must not read them as its accuracy on theirs (benchmarks/new_place.py measured 0.17-0.31 test IoU on
#: two places it never saw, against 0.61 on OpenAerialMap test tiles like its training data).
BASE_MODEL_LABEL = ("the base building model, not trained on your tiles yet: its accuracy figures come from other "
                    "imagery (East-African drone tiles), and on a new place it misses many roofs until you label a "
                    "few tiles and train")


@dataclass(frozen=True)
class ModelChoice:
    """The model the app uses for a project: ``path``, whether it is the shipped base model, and a label
    that says so to the user."""

    path: Path
    is_base: bool
    label: str


def model_or_base(active: Path | None) -> ModelChoice | None:
    """The project's active model when it is set and present; else the shipped base model, so that a
    project without training (no labels yet) already gets masks; else None."""
    if active is not None and active.is_file():
        return ModelChoice(active, False, f"active model {active.name}")
    if base_model_available():
        return ModelChoice(BASE_MODEL_PATH, True, BASE_MODEL_LABEL)
    return None
