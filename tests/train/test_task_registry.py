"""Pretraining tasks as one class each (a toy task registered through the recipe of docs/ARCHITECTURE.md
trains one step), the nested profile and its old flat form, and older pretraining-network state dicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from pgssl_core.models import ModelConfig
from pgssl_core.train import pretraining_tasks
from pgssl_core.train.data import TensorSet
from pgssl_core.train.loop import RunContext, RunState
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.pretraining import pretrain
from pgssl_core.train.pretraining_tasks import PretrainBatch, PretrainTask, TaskSettings, register_task
from pgssl_core.train.profiles import PROFILES, Profile, get_profile
from pgssl_core.train.progress import Reporter
from pgssl_core.train.rounds import model_config

TINY = ModelConfig(encoder="tu-resnet10t", encoder_depth=3, decoder_channels=(16, 8, 8))


class MeanColour(PretrainTask):
    """A toy task: predict each tile's mean colour (N, C) of view 1 from the pooled deepest feature."""

    name = "colour"
    default_weight = 0.5

    def build_head(self, unet: nn.Module, config: ModelConfig, settings: TaskSettings) -> nn.Module:
        return nn.Linear(getattr(unet.get_submodule("encoder"), "out_channels")[-1], config.in_channels)

    def forward(self, head: nn.Module | None, feats: list[torch.Tensor], batch: PretrainBatch) -> torch.Tensor:
        assert head is not None
        return head(feats[-1][:batch.n].mean(dim=(-2, -1)))

    def loss(self, output: torch.Tensor, batch: PretrainBatch, head: nn.Module | None) -> torch.Tensor:
        return ((output - batch.x1.mean(dim=(-2, -1))) ** 2).mean()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, PretrainTask]:
    """A copy of the task registry, so that the toy task does not outlive its test."""
    copy = dict(pretraining_tasks.PRETRAIN_TASKS)
    monkeypatch.setattr(pretraining_tasks, "PRETRAIN_TASKS", copy)
    for module in ("pgssl_core.train.pretrain_model", "pgssl_core.train.pretraining", "pgssl_core.train.profiles"):
        monkeypatch.setattr(f"{module}.PRETRAIN_TASKS", copy)
    return copy


def test_a_registered_toy_task_trains_one_pretraining_step(tmp_path: Path, registry, make_data) -> None:
    register_task(MeanColour)
    assert list(registry) == ["seg", "byol", "inpaint", "colour"]
    assert pretraining_tasks.default_task_weights()["colour"] == 0.5  # its default weight, from the class
    profile = get_profile("test", task_weights={"byol": 1.0, "colour": 1.0})  # a profile may name it now
    torch.manual_seed(0)
    pmodel = PretrainModel(model_config(profile, 3), profile.tasks)
    head = pmodel.heads["colour"]
    before = [p.detach().clone() for p in head.parameters()]
    events: list[dict] = []
    ctx = RunContext(out_dir=tmp_path, device=torch.device("cpu"), reporter=Reporter(None, events.append, 1),
                     config={}, generator=torch.Generator().manual_seed(0), state=RunState())
    pool = TensorSet.from_samples(make_data(n_lab=2, n_unl=2, n_val=0).pool())
    pretrain(ctx, 1, pmodel, pool, None, profile, profile.tasks.weights, steps=1)
    step = next(e for e in events if e["kind"] == "step")
    assert set(step["losses"]) == {"byol", "colour"} and step["losses"]["colour"] > 0
    assert any(not torch.equal(b, a) for b, a in zip(before, head.parameters(), strict=True))  # it trained


def test_a_task_name_is_registered_once(registry) -> None:
    class Other(MeanColour):
        pass

    register_task(MeanColour)
    with pytest.raises(ValueError, match="taken"):
        register_task(Other)


#: A profile as runs stored it before profiles were nested (``config.json``'s "profile", flat).
OLD_FLAT_TEST_PROFILE = {
    "name": "test", "encoder": "tu-resnet10t", "encoder_depth": 3, "decoder_channels": [16, 8, 8], "crop": 32,
    "scale": [0.75, 1.25], "batch_size": 2, "teacher_steps": 4, "supervised_steps": None, "pretrain_steps": 4,
    "finetune_steps": 4, "frozen_warmup_steps": 1, "rounds": 2, "optimizer": "adamw", "lr": 0.001,
    "pretrain_lr": None, "finetune_lr": None, "weight_decay": 0.0001, "momentum": 0.9, "warmup_steps": 1,
    "task_weights": {"seg": 1.0, "byol": 1.0, "inpaint": 1.0}, "task_schedule": "joint", "byol_momentum": 0.996,
    "proj_dim": 16, "proj_hidden": 32, "transfer_decoder": False, "inpaint_block": 4, "inpaint_ratio": 0.1,
    "pseudo_threshold": 0.7, "class_balance": True, "pseudo_min_recall": 0.0, "pseudo_min_precision": 0.0,
    "select_margin": 0.0, "eval_every": 2, "checkpoint_every": 2, "log_every": 1, "max_nonfinite": 5,
    "grad_clip": 5.0, "gsd_m": 0.3, "degrade": 1.0, "degrade_p": 0.0, "grey_p": 0.0, "radiometric_p": 0.0,
    "sensor_p": 0.0, "ema_decay": 0.0}


def test_an_old_flat_profile_loads_as_the_nested_one() -> None:
    old = Profile.from_dict(json.loads(json.dumps(OLD_FLAT_TEST_PROFILE)))
    assert old == get_profile("test")
    assert old.model.decoder_channels == (16, 8, 8) and old.augment.scale == (0.75, 1.25)  # tuples again
    assert Profile.from_dict({**OLD_FLAT_TEST_PROFILE, "lr": 5e-4, "gone_field": 1}).optim.lr == 5e-4
    assert get_profile("test").flat_dict() == OLD_FLAT_TEST_PROFILE  # so a study's profile fingerprint stays


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_round_trips_through_json(name: str) -> None:
    profile = PROFILES[name]
    data = json.loads(json.dumps(profile.to_dict()))
    assert set(data) == {"name", "model", "augment", "optim", "stages", "tasks", "pseudo", "evaluation"}
    assert Profile.from_dict(data) == profile


def test_flat_overrides_reach_their_parts() -> None:
    profile = get_profile("quick", batch_size=4, task_schedule="alternate", pseudo_threshold=0.8, crop=64)
    assert (profile.optim.batch_size, profile.tasks.schedule, profile.pseudo.threshold, profile.augment.crop) == (
        4, "alternate", 0.8, 64)
    assert profile.model == PROFILES["quick"].model  # the other parts are the profile's own


def test_an_older_pretraining_network_state_dict_loads() -> None:
    """Checkpoints and stage files written before the tasks owned their heads (``seg_decoder.*``,
    ``projector.*``, ``target_encoder.*``, ...) load into ``heads.<task>.*``."""
    torch.manual_seed(0)
    model = PretrainModel(TINY, TaskSettings(proj_dim=8, proj_hidden=16))
    new_to_old = {"heads.seg.decoder.": "seg_decoder.", "heads.seg.head.": "seg_head.",
                  "heads.inpaint.decoder.": "inpaint_decoder.", "heads.inpaint.head.": "inpaint_head.",
                  "heads.byol.": ""}
    old_state = {}
    for key, value in model.state_dict().items():
        prefix = next((p for p in new_to_old if key.startswith(p)), "")
        old_state[new_to_old.get(prefix, "") + key[len(prefix):]] = value + 1 if value.is_floating_point() else value
    assert "projector.0.weight" in old_state and "target_encoder.model.conv1.0.weight" in old_state
    fresh = PretrainModel(TINY, TaskSettings(proj_dim=8, proj_hidden=16))
    fresh.load_state_dict(old_state)  # strict: every key found its place
    assert torch.equal(fresh.heads["byol"].projector[0].weight, model.heads["byol"].projector[0].weight + 1)
