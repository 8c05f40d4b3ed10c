"""The run's plan as a table of stage kinds, the pretraining task registry, profile checks and the
batched pseudo-labeller."""

from __future__ import annotations

import pytest
import torch

from pgssl_core.errors import PgsslError
from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train import STAGE_FUNCTIONS, StageKind, get_profile, plan
from pgssl_core.train.pretraining import method_task_weights
from pgssl_core.train.pretraining_tasks import PRETRAIN_TASKS, active_tasks
from pgssl_core.train.pseudo_labelling import PseudoLabelConfig, make_pseudo_labels


@pytest.mark.parametrize("method", ["pgssl", "supervised", "byol", "inpaint"])
def test_every_planned_stage_has_its_function(method) -> None:
    steps = plan(method, get_profile("test"))
    assert steps and all(isinstance(kind, StageKind) and kind in STAGE_FUNCTIONS for _, kind, _ in steps)
    assert set(STAGE_FUNCTIONS) == set(StageKind)


def test_stage_kinds_keep_their_names_in_events_and_files() -> None:
    """Kinds compare equal to the strings that progress events, checkpoints and the app read."""
    assert [k.value for k in StageKind] == ["teacher", "supervised", "pretrain", "finetune"]
    assert plan("pgssl", get_profile("test", rounds=2)) == [
        (1, "teacher", 4), (1, "pretrain", 4), (1, "finetune", 4), (2, "pretrain", 4), (2, "finetune", 4)]


def test_single_task_methods_switch_the_other_tasks_off() -> None:
    profile = get_profile("test")
    assert method_task_weights("byol", profile) == {"seg": 0.0, "byol": 1.0, "inpaint": 0.0}
    assert method_task_weights("inpaint", profile) == {"seg": 0.0, "byol": 0.0, "inpaint": 1.0}
    assert method_task_weights("pgssl", profile) == profile.tasks.weights
    weights = {"seg": 1.0, "byol": 0.0, "inpaint": 2.0}
    assert [t.name for t in active_tasks(weights, "joint", 0)] == ["seg", "inpaint"]
    assert [t.name for s in range(3) for t in active_tasks(weights, "alternate", s)] == ["seg", "inpaint", "seg"]
    assert list(PRETRAIN_TASKS) == ["seg", "byol", "inpaint"]


@pytest.mark.parametrize(("field", "value", "words"), [
    ("optimizer", "adam", "unknown optimizer 'adam'; choose one of adamw, sgd"),
    ("task_schedule", "mixed", "unknown task_schedule 'mixed'"),
    ("task_weights", {"seg": 1.0, "rotation": 1.0}, "unknown pretraining task 'rotation'"),
    ("task_weights", {"seg": -1.0}, "task_weights must be finite and >= 0"),
    ("batch_size", 0, "batch_size must be at least 1"),
    ("pseudo_threshold", 1.5, "pseudo_threshold must be in [0, 1]"),
    ("no_such_field", 1, "unknown profile field 'no_such_field'"),
])
def test_profile_refuses_unknown_or_out_of_range_values(field, value, words) -> None:
    """An unknown optimizer used to become AdamW and an unknown schedule "joint", silently."""
    with pytest.raises(PgsslError, match="^.*" + words.replace("[", r"\[").replace("(", r"\(")):
        get_profile("test", **{field: value})


def test_known_values_are_accepted() -> None:
    assert get_profile("paper").optim.optimizer == "sgd"
    assert get_profile("test", task_schedule="alternate").tasks.schedule == "alternate"


def test_output_stride_is_the_encoders() -> None:
    """One definition of the input side multiple, the same as segmentation_models_pytorch's."""
    for depth, channels in ((3, (16, 8, 8)), (4, (16, 8, 8, 8))):
        config = ModelConfig(encoder="tu-resnet10t", encoder_depth=depth, decoder_channels=channels)
        assert config.output_stride == create_model(config).encoder.output_stride == 2 ** depth


def test_batched_pseudo_labels_match_one_tile_at_a_time() -> None:
    """Tiles of one size share a forward pass; tiles of other sizes still work, in their order. Labels are
    identical to one tile per pass; weights differ at most by float rounding of batched convolutions."""
    torch.manual_seed(0)
    config = ModelConfig(encoder="tu-resnet10t", encoder_depth=3, decoder_channels=(16, 8, 8))
    teacher = create_model(config).eval()
    gen = torch.Generator().manual_seed(1)
    sizes = [(48, 48), (48, 48), (40, 56), (48, 48), (40, 56)]
    images = [torch.randint(0, 255, (3, h, w), dtype=torch.uint8, generator=gen) for h, w in sizes]
    cfg = PseudoLabelConfig()
    one = make_pseudo_labels(teacher, images, config.mean, config.std, cfg, torch.device("cpu"), 8, batch_size=1)
    calls: list[tuple[int, int]] = []
    many = make_pseudo_labels(teacher, images, config.mean, config.std, cfg, torch.device("cpu"), 8, batch_size=4,
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 5), (5, 5)]
    assert [lab.shape for lab in many[0]] == [torch.Size(s) for s in sizes]
    assert all(torch.equal(a, b) for a, b in zip(one[0], many[0], strict=True))
    assert max(float((a - b).abs().max()) for a, b in zip(one[1], many[1], strict=True)) < 1e-5
