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

from pgssl_core.errors import ModelFileError, PgsslError, first_line
from pgssl_core.io import atomic_write_bytes
from pgssl_core.models.factory import ModelConfig, create_model
from pgssl_core.models.onnx_engine import file_sha256, remember_source, resolve_engine

FORMAT = "pgssl-model/1"
#: What a model file is, for error messages.
EXPECTED_MODEL = f"a {FORMAT} file that `train` writes, e.g. model.pt or best.pt"


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


def load_weights_file(path: str | Path, what: str = "model file", expected: str = "") -> Any:
    """``torch.load(weights_only=True)`` on the CPU, with a one-line error naming ``what``.

    Shared by model files and training checkpoints: only tensors and plain containers are unpickled,
    so an untrusted file cannot run code. ``expected`` (e.g. "a model.pt or best.pt that `train` writes")
    ends the message for a file that is not one.

    Raises:
        ModelFileError: the file is missing, cannot be opened, or cannot be read as tensors and plain data
            (an image, a text, another program's file, a truncated file all get the same clear line: the
            pickle or zip reader's own text, such as "101" or "EOFError", means nothing to a user).
    """
    p = Path(path)
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelFileError(f"{what} not found: {p}") from exc
    except OSError as exc:
        if exc.filename is None:  # the zip reader's own errors are OSErrors without a file name: a bad file
            raise ModelFileError(_not_one(p, what, "it cannot be read as one", expected)) from exc
        raise ModelFileError(f"cannot read {what} {p.name}: {exc.strerror or first_line(exc)}") from exc
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors all mean "not a usable file"
        # PyTorch's own text is never shown: a pickle opcode ("101"), a zip detail, or advice to pass
        # weights_only=False, which would let a file run code.
        if not _looks_like_torch_save(p):
            why = "it is not a file that PyTorch's torch.save wrote"
        elif "weights only load failed" in first_line(exc).lower() or "weights_only" in first_line(exc):
            why = "it holds something other than tensors and plain data"
        else:
            why = "it cannot be read as one (damaged, truncated, or another program's archive)"
        raise ModelFileError(_not_one(p, what, why, expected)) from exc


def _looks_like_torch_save(path: Path) -> bool:
    """True if ``path`` starts as ``torch.save`` files do: a zip archive (PyTorch >= 1.6) or a pickle of
    protocol 2 or later (the legacy format), so that an image or a text is not called a damaged model."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def _not_one(path: Path, what: str, why: str, expected: str) -> str:
    return f"{path.name} is not a pgssl {what}: {why}" + (f"; expected {expected}" if expected else "")


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"{p} is a folder, not a model file; expected {EXPECTED_MODEL}")
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    data = load_weights_file(p, expected=EXPECTED_MODEL)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(_not_one(p, "model file", f"it holds other data than a {FORMAT} model", EXPECTED_MODEL))
    return data


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu",
               engine: str | None = None) -> tuple[nn.Module, ModelConfig, dict[str, Any]]:
    """Rebuild the network stored in ``path``; returns ``(model in eval mode, config, meta)``.

    ``engine`` (``auto``, ``onnx`` or ``torch``; None: the ``PGSSL_ENGINE`` environment variable, else
    ``auto``) says what runs the network when it predicts on the CPU (:mod:`pgssl_core.models.onnx_engine`):
    with ``auto`` ONNX Runtime, with PyTorch as the fallback. The model itself is always the PyTorch module.

    Raises:
        ModelFileError: the file is missing, unreadable, not a model file, or its weights do not fit its config.
        PgsslError: an unknown engine, or ``onnx`` with a CUDA ``device`` (ONNX Runtime runs on the CPU here).
    """
    engine = resolve_engine(engine)
    if engine == "onnx" and torch.device(device).type != "cpu":
        raise PgsslError(f"the onnx engine runs on the CPU only, not on {device}; use --engine auto or torch")
    data = _read(path)
    config = ModelConfig.from_dict(data["config"])
    model = create_model(config)
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelFileError(f"weights in {Path(path).name} do not match its config: {first_line(exc)}") from exc
    model = model.to(device).eval()
    # The file's hash keys its cached ONNX graph (about 0.2 s for a 100 MB file).
    remember_source(model, Path(path), file_sha256(Path(path)), engine, config.in_channels, config.output_stride)
    return model, config, dict(data.get("meta", {}))
