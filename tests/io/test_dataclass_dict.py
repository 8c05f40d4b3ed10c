"""One ``to_dict`` / ``from_dict`` for the config dataclasses: JSON round trips, nested configs, old and new files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

import pytest

from pgssl_core.io.dataclass_dict import DictConfig, from_dict, to_dict
from pgssl_core.models import ModelConfig
from pgssl_core.train import PROFILES, TrainConfig


class Colour(StrEnum):
    RED = "red"
    GREY = "grey"


@dataclass(frozen=True)
class Views(DictConfig):
    scale: tuple[float, float] = (0.75, 1.25)
    colour: Colour = Colour.RED


@dataclass(frozen=True)
class Optimiser(DictConfig):
    lr: float = 1e-3
    weights: dict[str, float] = field(default_factory=lambda: {"seg": 1.0})


@dataclass(frozen=True)
class Nested(DictConfig):
    """A profile as it will be once split into parts: nested configs, one optional."""

    name: str
    channels: tuple[int, ...] = (16, 8)
    views: Views = field(default_factory=Views)
    optimiser: Optimiser | None = None


def test_nested_configs_survive_json() -> None:
    config = Nested("x", (4, 2, 1), Views((0.5, 2.0), Colour.GREY), Optimiser(0.01, {"seg": 0.5, "byol": 2.0}))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["views"] == {"scale": [0.5, 2.0], "colour": "grey"} and data["channels"] == [4, 2, 1]
    back = Nested.from_dict(data)
    assert back == config
    assert isinstance(back.views, Views) and back.views.colour is Colour.GREY and isinstance(back.channels, tuple)


def test_unknown_keys_are_ignored_and_missing_ones_take_defaults() -> None:
    older = {"name": "x", "views": {"scale": [1, 2]}}  # written before colour and optimiser existed
    assert Nested.from_dict(older) == Nested("x", views=Views((1, 2)))
    newer = {"name": "x", "optimiser": {"lr": 0.5, "momentum": 0.9}, "seen_in_2030": True}
    assert Nested.from_dict(newer).optimiser == Optimiser(0.5)
    with pytest.raises(TypeError):
        Nested.from_dict({})  # a field without a default must be given


def test_plain_functions_refuse_what_is_not_a_dataclass() -> None:
    with pytest.raises(TypeError):
        to_dict({"a": 1})
    with pytest.raises(TypeError):
        from_dict(dict, {})


def test_the_three_configs_round_trip() -> None:
    train = TrainConfig(method="byol", rounds=2, profile_overrides={"batch_size": 4}, time_budget_s=60.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(train.to_dict()))) == train
    model = ModelConfig(encoder="tu-resnet10t", encoder_depth=4, decoder_channels=(64, 32, 16, 16), gsd_m=0.3)
    data = json.loads(json.dumps(model.to_dict()))
    assert data["decoder_channels"] == [64, 32, 16, 16] and data["mean"] == list(model.mean)
    assert ModelConfig.from_dict(data) == model
    for profile in PROFILES.values():  # Profile keeps its own methods for now: the helper reads what they write
        assert from_dict(type(profile), json.loads(json.dumps(profile.to_dict()))) == profile
        assert to_dict(profile) == profile.to_dict()
