"""Model files: a network's weights plus the config that rebuilds it.

Format (a ``torch.save`` dict, read back with ``weights_only=True`` so an untrusted file cannot
run code): ``{"format": "pgssl-model/1", "config": ModelConfig.to_dict(), "state_dict": ...,
"meta": {...}}``. ``meta`` holds plain data (method, metrics, training config).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pgssl_core.errors import ModelFileError
from pgssl_core.io import atomic_write_bytes
from pgssl_core.models.factory import ModelConfig, create_model

FORMAT = "pgssl-model/1"


def save_model(path: str | Path, model: nn.Module, config: ModelConfig, meta: dict[str, Any] | None = None) -> None:
    """Write ``model`` (weights on CPU) and its ``config`` to ``path`` atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "config": config.to_dict(), "state_dict": state, "meta": meta or {}}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _read(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors all mean "not a usable model file"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights only load failed" in first.lower() or "weights_only" in first:
            # PyTorch's text goes on to suggest weights_only=False, which would let a file run code: never that.
            first = "not a pgssl model file (it holds something other than tensors and plain data)"
        raise ModelFileError(f"cannot load model file {p.name}: {first}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{p.name} is not a pgssl model file (expected format {FORMAT})")
    return data


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelConfig, dict[str, Any]]:
    """Rebuild the network stored in ``path``; returns ``(model in eval mode, config, meta)``."""
    data = _read(path)
    config = ModelConfig.from_dict(data["config"])
    model = create_model(config)
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelFileError(f"weights in {Path(path).name} do not match its config: {str(exc).splitlines()[0]}") from exc
    return model.to(device).eval(), config, dict(data.get("meta", {}))
