"""Several processes as one job, on PyTorch's own engine (``torchrun`` + ``torch.distributed``).

``torchrun --nproc-per-node N [--nnodes M ...] -m pgssl_core <command>`` starts one process per rank and
sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` (torchrun's
documentation); :func:`process_group` reads them and joins the group: gloo on CPU, NCCL on GPUs (one
GPU per local rank). Without those variables everything here is the single-process no-op, so library
code calls these helpers unconditionally.

Shared by distributed training (:mod:`pgssl_core.train`) and any other command that splits its work
over ranks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from pgssl_core.errors import PgsslError

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job: ``rank`` of ``world_size`` (0 of 1 alone), ``local_rank`` on
    its machine, and the ``backend`` ("gloo", "nccl"; None for a single process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one rank that writes the job's files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when the run spans more than one process."""
        return self.world_size > 1

    def to_dict(self) -> dict[str, Any]:
        """World size and backend, for a run's metadata."""
        return {"world_size": self.world_size, "backend": self.backend}


def launched_world_size() -> int:
    """``WORLD_SIZE`` set by torchrun (1 when started as a plain process)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """``LOCAL_RANK`` set by torchrun: this process's index on its machine (0 when started alone)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def current() -> DistInfo:
    """The job this process belongs to (a single-process ``DistInfo`` when no group was joined)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank(), str(dist.get_backend()))


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` when ``device`` is a GPU and the job is distributed."""
    if device.type == "cuda" and launched_world_size() > 1:
        return torch.device("cuda", local_rank())
    return device


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[DistInfo]:
    """Join torchrun's process group for the block (gloo on CPU, NCCL on CUDA) and leave it afterwards.

    A plain process (no ``WORLD_SIZE`` above 1) gets a single-process ``DistInfo`` and no group.

    Raises:
        PgsslError: NCCL asked for but this machine has fewer GPUs than local ranks.
    """
    if launched_world_size() <= 1 or dist.is_initialized():
        yield current()
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl":
        if local_rank() >= torch.cuda.device_count():
            raise PgsslError(f"local rank {local_rank()} has no GPU ({torch.cuda.device_count()} visible); "
                             "start at most one process per GPU (--nproc-per-node)")
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend=backend)
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op alone)."""
    if current().distributed:
        dist.barrier()


def all_gather_objects(obj: T) -> list[T]:
    """``obj`` of every rank, in rank order (``[obj]`` alone). Objects travel pickled between the job's
    own processes (``all_gather_object``); CUDA tensors should be moved to the CPU first."""
    info = current()
    if not info.distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: T) -> T:
    """Rank 0's ``obj`` on every rank (``obj`` itself alone); the others pass anything, e.g. None."""
    if not current().distributed:
        return obj
    box: list[Any] = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_shards(shards: Sequence[Sequence[T]]) -> list[T]:
    """Undo ``items[rank::world_size]``: the per-rank lists of :func:`all_gather_objects`, back in the
    order of the whole list."""
    world = len(shards)
    total = sum(len(s) for s in shards)
    return [shards[i % world][i // world] for i in range(total)]


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over ranks of a tensor on this rank's device (the tensor itself alone)."""
    if current().distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


@torch.no_grad()
def average_buffers(module: nn.Module) -> None:
    """Average the floating-point buffers (BatchNorm running statistics) over ranks, in place.

    On CPU, gloo has no SyncBatchNorm (PyTorch's is GPU-only), so each rank's running statistics follow
    its own slice of the batch; their mean is the running mean a single process would have over the
    whole batch (running variances are the mean of the per-rank ones). Afterwards every rank holds the
    same buffers. No-op alone.
    """
    info = current()
    if not info.distributed:
        return
    for buf in module.buffers():
        if buf.dtype.is_floating_point:
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(info.world_size)


def wrap_module(module: nn.Module, device: torch.device, find_unused_parameters: bool = False) -> nn.Module:
    """``module`` as DistributedDataParallel when the job is distributed, else ``module`` itself.

    On GPUs BatchNorm layers become SyncBatchNorm (batch statistics over the whole global batch, as in a
    single process); on CPU they keep per-rank statistics (see :func:`average_buffers`). DDP broadcasts
    rank 0's parameters and buffers when it wraps, so every rank starts from the same weights.
    ``find_unused_parameters`` is needed when a step may leave parts of the network out (pretraining
    tasks that are switched off or alternate).
    """
    if not current().distributed:
        return module
    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return nn.parallel.DistributedDataParallel(module, device_ids=[device.index],
                                                   find_unused_parameters=find_unused_parameters)
    return nn.parallel.DistributedDataParallel(module, find_unused_parameters=find_unused_parameters)
