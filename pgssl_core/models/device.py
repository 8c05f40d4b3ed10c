"""Device choice and the CUDA fast path (bf16 autocast, channels-last)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TypeVar

import torch
from torch import nn

from pgssl_core.errors import PgsslError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise PgsslError("--device cuda was requested but no CUDA GPU is visible; use --device cpu or auto")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise PgsslError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A one-line description for logs and the progress bar."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)}, bf16 autocast, channels-last)"
    return f"cpu ({torch.get_num_threads()} threads, float32)"


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on CUDA (no loss scaling needed for bf16); plain float32 elsewhere."""
    if device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def prepare_module(module: ModuleT, device: torch.device) -> ModuleT:
    """Move ``module`` to ``device`` (in place; the same object is returned); channels-last on CUDA where
    convolutions run faster in it."""
    module = module.to(device)
    if device.type == "cuda":
        module = module.to(memory_format=torch.channels_last)
    return module


def prepare_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a (N, C, H, W) batch to ``device`` (channels-last on CUDA)."""
    x = x.to(device, non_blocking=True)
    if device.type == "cuda" and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
