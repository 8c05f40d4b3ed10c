"""Numeric options are checked while the arguments are parsed: a size, count or GSD of zero or less is a one-line
usage error (exit status 2) on every command, before any file is opened (found by a fresh-eyes QA run:
``inspect --tile-size 0`` was accepted)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pgssl_core.cli import build_parser, main
from pgssl_core.cli.arg_types import (
    gsd_option,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    stated_gsd,
)

CHECKED = {positive_int, positive_float, non_negative_int, non_negative_float, gsd_option, stated_gsd}
#: Plain numeric options where any value, or a range the command checks itself, is fine: a seed, angles, shares.
UNCHECKED = {("train", "--seed"), ("demo", "--seed"), ("train", "--label-fraction"), ("assess", "--threshold"),
             ("predict", "--threshold"), ("assess", "--tilt"), ("assess", "--azimuth"), ("assess", "--usable-share"),
             ("assess", "--efficiency"), ("assess", "--losses"), ("assess", "--emission-factor"),
             ("import-xyz", "--bbox")}


def _options() -> list[tuple[str, argparse.Action]]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, action) for name, parser in sub.choices.items() for action in parser._actions
            if action.option_strings]


def test_every_numeric_option_is_checked() -> None:
    # Any new int/float option must pick a checked type (or be listed above with its reason): the whole kind.
    plain = {(name, action.option_strings[0]) for name, action in _options() if action.type in (int, float)}
    assert plain == UNCHECKED
    assert {(n, a.option_strings[0]) for n, a in _options() if a.type in CHECKED} >= {
        ("inspect", "--tile-size"), ("import", "--tile-size"), ("predict", "--window"), ("predict", "--tile"),
        ("predict", "--batch-size"),
        ("train", "--batch-size"), ("assess", "--cell-m"), ("import-xyz", "--max-tiles"),
        ("demo", "--tiles-per-district"), ("predict", "--gsd"), ("evaluate", "--tile-gsd")}


@pytest.mark.parametrize(("kind", "bad"), [(positive_int, ["0", "-3", "2.5", "x"]),
                                           (positive_float, ["0", "-0.1", "nan", "inf", "x"]),
                                           (non_negative_int, ["-1", "x"]), (non_negative_float, ["-0.5", "nan"]),
                                           (gsd_option, ["0", "-1", "1000", "x"]), (stated_gsd, ["0", "native"])])
def test_each_type_refuses_what_makes_no_sense(kind, bad: list[str]) -> None:
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            kind(text)


def test_each_type_keeps_good_values() -> None:
    assert positive_int("512") == 512 and positive_float("0.25") == 0.25
    assert non_negative_int("0") == 0 and non_negative_float("0") == 0.0
    assert gsd_option("native") == "native" and gsd_option("0.3") == "0.3" and stated_gsd("0.5") == "0.5"


@pytest.mark.parametrize("argv", [
    ["inspect", "{img}", "--tile-size", "0"],          # the QA run's input
    ["inspect", "{img}", "--tile-size", "-512"],
    ["import", "{img}", "--project", "{tmp}/p", "--tile-size", "0"],
    ["predict", "--model", "m.pt", "--input", "{img}", "--out", "{tmp}/o", "--tile", "0"],
    ["predict", "--model", "m.pt", "--input", "{img}", "--out", "{tmp}/o", "--gsd", "-0.3"],
    ["import-xyz", "--url", "http://x/{{z}}/{{x}}/{{y}}.png", "--zoom", "18", "--bbox", "0", "0", "1", "1",
     "--project", "{tmp}/p", "--attribution", "a", "--rate", "0"],
])
def test_cli_refuses_non_positive_sizes_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     argv: list[str]) -> None:
    img = tmp_path / "tile.png"
    img.write_bytes(b"not looked at: parsing fails first")
    with pytest.raises(SystemExit) as exit_:
        main([a.format(img=img, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith(f"error: {argv[-2]}: ")
    assert "must be" in err[0] and err[0].endswith(f"(see python -m pgssl_core {argv[0]} --help)")
    assert [p.name for p in tmp_path.iterdir()] == ["tile.png"]  # nothing created


def test_train_takes_a_time_budget_in_positive_minutes(capsys) -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "--images", "i", "--masks", "m", "--out", "o", "--time-budget", "0.5"])
    assert args.time_budget == 0.5
    for bad in ("0", "-5", "x"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["train", "--images", "i", "--masks", "m", "--out", "o", "--time-budget", bad])
        assert exc.value.code == 2 and "--time-budget" in capsys.readouterr().err
