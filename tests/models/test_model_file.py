"""A file that is not a model gets one line saying so and what was expected, never the pickle or zip reader's
own text (found by a fresh-eyes QA run: ``--model notes.txt`` ended in "...: 101")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from pgssl_core.cli import main
from pgssl_core.errors import ModelFileError
from pgssl_core.models import load_model
from pgssl_core.models.init_model import BASE_MODEL_PATH
from pgssl_core.models.model_file import EXPECTED_MODEL
from pgssl_core.shipped import ASSETS_DIR

IMAGE = next((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))


def _text(path: Path) -> None:
    path.write_text("hello world, not a model")  # the QA run's input: the pickle reader said "101"


def _image(path: Path) -> None:
    path.write_bytes(IMAGE.read_bytes())


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "a zip, but not PyTorch's")


def _truncated(path: Path) -> None:
    data = BASE_MODEL_PATH.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _other_torch(path: Path) -> None:
    torch.save({"weights": torch.zeros(2)}, path)


@pytest.mark.parametrize(("make", "why"), [
    (_text, "it is not a file that PyTorch's torch.save wrote"),
    (_image, "it is not a file that PyTorch's torch.save wrote"),
    (_empty, "it is not a file that PyTorch's torch.save wrote"),
    (_other_zip, "it cannot be read as one (damaged, truncated, or another program's archive)"),
    (_truncated, "it cannot be read as one (damaged, truncated, or another program's archive)"),
    (_other_torch, "it holds other data than a pgssl-model/1 model"),
])
def test_not_a_model_says_so_and_what_was_expected(tmp_path: Path, make, why: str) -> None:
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value) == f"bad.pt is not a pgssl model file: {why}; expected {EXPECTED_MODEL}"


def test_a_folder_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is a folder, not a model file; expected a pgssl-model/1 file"):
        load_model(tmp_path)


def test_cli_model_that_is_an_image_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    _image(bad)
    code = main(["predict", "--model", str(bad), "--input", str(IMAGE), "--out", str(tmp_path / "out"),
                 "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == (f"error: bad.png is not a pgssl model file: it is not a file that PyTorch's "
                                     f"torch.save wrote; expected {EXPECTED_MODEL}")
