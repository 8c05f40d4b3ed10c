"""The torchrun command the Train page offers: its text, and that it runs on a project as the app does."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pgssl_core.errors import PgsslError
from pgssl_core.project.data_plan import plan_project_data
from pgssl_core.train import TrainConfig
from pgssl_core.train.launch import project_run_folder, project_train_command, torchrun_command
from tests.project.conftest import make_project  # noqa: F401 - the tiny-project fixture

REPO = Path(__file__).resolve().parents[2]


def test_one_machine_command_is_standalone_and_quoted(tmp_path) -> None:
    root = tmp_path / "my project"
    config = TrainConfig(method="byol", profile="quick", seed=3, init="/models/a b.pt", device="auto")
    words = shlex.split(project_train_command(root, config, 4, limits={"max_pool": 8, "max_val": 4}))
    assert words[:5] == ["torchrun", "--standalone", "--nproc-per-node", "4", "-m"]
    assert words[5:8] == ["pgssl_core", "train", "--project"] and words[8] == str(root)
    pairs = dict(zip(words[9::2], words[10::2], strict=False))
    assert pairs["--max-pool"] == "8" and pairs["--max-val"] == "4" and pairs["--method"] == "byol"
    assert pairs["--profile"] == "quick" and pairs["--seed"] == "3" and pairs["--init"] == "/models/a b.pt"
    assert words[-2:] == ["--out", str(project_run_folder(root, config))]


def test_several_machines_use_a_c10d_rendezvous() -> None:
    command = torchrun_command(["-m", "pgssl_core", "train"], nproc_per_node=8, nnodes=3)
    assert command.startswith("torchrun --nnodes 3 --nproc-per-node 8 --rdzv-backend c10d "
                              "--rdzv-endpoint MAIN_HOST:29500")
    with pytest.raises(PgsslError):
        torchrun_command(["-m", "pgssl_core", "train"], nproc_per_node=0)


@pytest.mark.distributed
def test_offered_command_trains_on_the_project_as_the_app_plans_it(tmp_path, make_project) -> None:  # noqa: F811
    project = make_project(n=6, labelled=4)
    limits = {"max_pool": 1, "max_val": 1}
    config = TrainConfig(method="supervised", profile="test", seed=0, init="scratch", device="cpu")
    words = shlex.split(project_train_command(project.root, config, 1, limits=limits))
    assert words[0] == "torchrun"
    env = {**os.environ, "PGSSL_TRAIN_LOCK": str(tmp_path / "train.lock"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", *words[1:]], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((project_run_folder(project.root, config) / "config.json").read_text())
    plan = plan_project_data(project, seed=0, **limits)
    assert card["data"] == {"labelled": len(plan.train), "unlabelled": len(plan.pool), "val": len(plan.val)}
    assert card["train"]["method"] == "supervised" and card["distributed"]["world_size"] == 1


def test_the_offered_command_carries_the_time_budget_in_minutes(tmp_path) -> None:
    budgeted = TrainConfig(profile="quick", time_budget_s=900.0)
    words = shlex.split(project_train_command(tmp_path, budgeted, 1))
    assert words[words.index("--time-budget") + 1] == "15"
    assert "--time-budget" not in shlex.split(project_train_command(tmp_path, TrainConfig(profile="quick"), 1))
