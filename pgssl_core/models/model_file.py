"""Model files: a network's weights plus the config that rebuilds it.

Format (a ``torch.save`` dict, read back with ``weights_only=True`` so an untrusted file cannot
run code): ``{"format": "pgssl-model/1", "config": ModelConfig.to_dict(), "state_dict": ...,
"meta": {...}}``. ``meta`` holds plain data (method, metrics, training config).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pgssl_core.errors import ModelFileError, first_line
from pgssl_core.io import atomic_write_bytes
from pgssl_core.models.factory import ModelConfig, create_model

FORMAT = "pgssl-model/1"


def save_weights_file(path: str | Path, obj: Any) -> None:
    """``torch.save`` into memory, then an atomic write (a reader never sees half a file). ``obj`` holds
    tensors and plain containers only, so that :func:`load_weights_file` reads it back."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def save_model(path: str | Path, model: nn.Module, config: ModelConfig, meta: dict[str, Any] | None = None) -> None:
    """Write ``model`` (weights on CPU) and its ``config`` to ``path`` atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_weights_file(path, {"format": FORMAT, "config": config.to_dict(), "state_dict": state, "meta": meta or {}})


def load_weights_file(path: str | Path, what: str = "model file") -> Any:
    """``torch.load(weights_only=True)`` on the CPU, with a one-line error naming ``what``.

    Shared by model files and training checkpoints: only tensors and plain containers are unpickled,
    so an untrusted file cannot run code.

    Raises:
        ModelFileError: the file is missing or cannot be read as tensors and plain data.
    """
    p = Path(path)
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelFileError(f"{what} not found: {p}") from exc
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors all mean "not a usable file"
        first = first_line(exc)
        if "weights only load failed" in first.lower() or "weights_only" in first:
            # PyTorch's text goes on to suggest weights_only=False, which would let a file run code: never that.
            first = f"not a pgssl {what} (it holds something other than tensors and plain data)"
        raise ModelFileError(f"cannot load {what} {p.name}: {first}") from exc


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    data = load_weights_file(p)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{p.name} is not a pgssl model file (expected format {FORMAT})")
    return data


def load_model(path: str | os.PathLike[str],
               device: str | torch.device = "cpu") -> tuple[nn.Module, ModelConfig, dict[str, Any]]:
    """Rebuild the network stored in ``path``; returns ``(model in eval mode, config, meta)``."""
    data = _read(path)
    config = ModelConfig.from_dict(data["config"])
    model = create_model(config)
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelFileError(f"weights in {Path(path).name} do not match its config: {first_line(exc)}") from exc
    return model.to(device).eval(), config, dict(data.get("meta", {}))
