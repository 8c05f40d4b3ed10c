"""A pgssl run of the ``test`` profile with a fixed seed gives the losses it gave when the pretraining tasks
became one class each and the profile was nested: a refactor of the engine must not change what it trains.

Pinned: the first step of each stage (teacher, pretraining with its three tasks, fine-tune), on one thread.
Later steps are left out: float rounding (another CPU's kernels, the memory format) grows over steps, while a
change of behaviour (initialisation order, a view, a loss or its weight, a learning rate) moves the first
step of some stage by far more than the tolerance.
"""

from __future__ import annotations

import pytest
import torch

from pgssl_core.train import run_training

#: Recorded on the shared 2-core CPU, torch 2.15, channels-last training (1e-4: float rounding across
#: CPUs and memory formats moved these by at most 2e-6).
FIRST_STEP_LOSSES = {"teacher": {"seg": 0.571108},
                     "pretrain": {"byol": 2.024629, "inpaint": 1.996135, "seg": 0.356398},
                     "finetune": {"seg": 1.170328}}


def test_first_step_losses_of_each_stage_are_pinned(tmp_path, tiny_data, make_config) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        events: list[dict] = []
        run_training(tiny_data, make_config("pgssl"), tmp_path / "run", progress=events.append)
    finally:
        torch.set_num_threads(threads)
    first = {e["stage"]: e["losses"] for e in events if e["kind"] == "step" and e["step"] == 1}
    assert first == {stage: pytest.approx(losses, abs=1e-4) for stage, losses in FIRST_STEP_LOSSES.items()}
