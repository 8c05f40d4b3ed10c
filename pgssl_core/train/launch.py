"""Command lines that launch a training run, for users who outgrow one process: the app shows them, ready
to copy (``torchrun`` starts one process per GPU, or per CPU share, on one or several machines)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from pgssl_core.errors import PgsslError
from pgssl_core.io.dataclass_args import config_to_args
from pgssl_core.train.rounds import TrainConfig

#: Placeholder for the address of the first machine in a several-machine command (the user fills it in).
MAIN_HOST = "MAIN_HOST"
RDZV_PORT = 29500  # torchrun's customary rendezvous port


def train_args(config: TrainConfig, out: str | Path, data_args: Sequence[str]) -> list[str]:
    """``pgssl_core train`` arguments for ``config`` writing to ``out``; ``data_args`` name the tiles
    (``--project DIR`` or ``--images/--masks``). The config's flags come from its own fields
    (:func:`~pgssl_core.io.dataclass_args.config_to_args`), as the command builds its options from them."""
    return ["-m", "pgssl_core", "train", *data_args, *config_to_args(config), "--out", str(out)]


def project_data_args(project_root: str | Path, limits: Mapping[str, int] | None = None) -> list[str]:
    """Data arguments that make the CLI read a project as the app does: ``--project`` and the app's data
    limits of the profile (``max_pool``, ``max_val``), when it has any."""
    args = ["--project", str(project_root)]
    for key, value in sorted((limits or {}).items()):
        args += [f"--{key.replace('_', '-')}", str(int(value))]
    return args


def torchrun_command(args: Sequence[str], nproc_per_node: int, nnodes: int = 1) -> str:
    """The shell command that runs ``python <args>`` under torchrun, quoted for a POSIX shell.

    One machine: ``--standalone`` (a local rendezvous). Several machines: the same command on each, with
    torchrun's c10d rendezvous at ``MAIN_HOST:29500`` (replace MAIN_HOST by the first machine's address);
    the run folder must then be on a file system every machine sees (rank 0 writes it, every rank reads
    finished stages from it on ``--resume``).

    Raises:
        PgsslError: fewer than one process or machine.
    """
    if nproc_per_node < 1 or nnodes < 1:
        raise PgsslError("a distributed run needs at least one process on at least one machine")
    launcher = ["torchrun"]
    if nnodes == 1:
        launcher += ["--standalone", "--nproc-per-node", str(nproc_per_node)]
    else:
        launcher += ["--nnodes", str(nnodes), "--nproc-per-node", str(nproc_per_node), "--rdzv-backend", "c10d",
                     "--rdzv-endpoint", f"{MAIN_HOST}:{RDZV_PORT}", "--rdzv-id", "pgssl-train"]
    # torchrun takes ``-m module`` itself, so the python arguments follow without the interpreter.
    return shlex.join([*launcher, *args])


def project_run_folder(project_root: str | Path, config: TrainConfig) -> Path:
    """Where a command-line run of a project goes: ``<project>/cli_runs/<method>-<profile>-seed<seed>``."""
    return Path(project_root) / "cli_runs" / f"{config.method}-{config.profile}-seed{config.seed}"


def project_train_command(project_root: str | Path, config: TrainConfig, nproc_per_node: int, nnodes: int = 1,
                          limits: Mapping[str, int] | None = None) -> str:
    """The torchrun command that trains ``config`` on the project's tiles as the app would (its data plan,
    seed and ``limits``), distributed over ``nnodes`` machines x ``nproc_per_node`` processes."""
    args = train_args(config, project_run_folder(project_root, config), project_data_args(project_root, limits))
    return torchrun_command(args, nproc_per_node, nnodes)
