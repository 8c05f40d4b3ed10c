"""``pgssl_core train`` builds its options from TrainConfig's fields: every field has a flag, and the command
the app offers (``train.launch.train_args``) parses back to the same config."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields

import pytest

from pgssl_core.cli import build_parser
from pgssl_core.io.dataclass_args import CLI_KEY, add_config_arguments, config_from_args, config_to_args, flag
from pgssl_core.train import TrainConfig
from pgssl_core.train.launch import train_args


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_every_train_config_field_is_a_train_option() -> None:
    options = {s for action in _train_parser()._actions for s in action.option_strings}
    for f in fields(TrainConfig):
        spec = f.metadata.get(CLI_KEY)
        assert spec is not None, f"TrainConfig.{f.name} has no command-line flag (metadata=flag(...))"
        assert (spec.name or "--" + f.name.replace("_", "-")) in options, f"TrainConfig.{f.name} is not a train option"
        assert spec.help, f"TrainConfig.{f.name} has no help text"


def test_the_offered_command_parses_back_to_the_config() -> None:
    config = TrainConfig(method="byol", profile="test", seed=3, device="cpu", confidence_weighting=False, rounds=2,
                         init="scratch", profile_overrides={"batch_size": 4}, time_budget_s=90.0)
    assert all(getattr(config, f.name) != getattr(TrainConfig(), f.name) for f in fields(TrainConfig))
    words = train_args(config, "out", ["--images", "i", "--masks", "m"])
    args = build_parser().parse_args(words[2:])  # after "-m pgssl_core"
    assert args.time_budget == 1.5 and args.no_confidence_weighting  # the namespace reads as the flags do
    assert config_from_args(TrainConfig, args) == config
    assert config_from_args(TrainConfig, build_parser().parse_args(["train", "--out", "o"])) == TrainConfig()


def test_a_field_without_a_flag_is_refused_when_the_parser_is_built() -> None:
    @dataclass
    class Forgotten:
        exposed: int = field(default=1, metadata=flag("a flag"))
        forgotten: int = 2

    with pytest.raises(TypeError, match="Forgotten.forgotten has no command-line flag"):
        add_config_arguments(argparse.ArgumentParser(), Forgotten)


def test_none_and_default_switches_are_left_out() -> None:
    words = config_to_args(TrainConfig())
    assert "--rounds" not in words and "--time-budget" not in words and "--batch-size" not in words
    assert "--no-confidence-weighting" not in words and words[words.index("--method") + 1] == "pgssl"
