"""Output paths of the wrong kind and a closed stdout pipe: one-line errors and a quiet stop, never a traceback
(found by a fresh-eyes QA run: ``predict --out FILE`` ended in a FileExistsError traceback, ``inspect ... | head -1``
in a BrokenPipeError one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgssl_core.cli import EXIT_BROKEN_PIPE, main
from pgssl_core.models.init_model import BASE_MODEL_PATH
from pgssl_core.shipped import ASSETS_DIR

REPO = Path(__file__).resolve().parents[2]
IMAGE = next((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_predict_out_naming_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "notes.txt"  # the QA run's input: --out names an existing file
    mine.write_text("the user's own file")
    err = _usage_error(["predict", "--model", str(BASE_MODEL_PATH), "--input", str(IMAGE), "--out", str(mine),
                        "--device", "cpu"], capsys)
    assert err.startswith(f"error: --out: {mine} is a file: give a folder (it is created if missing)")
    assert mine.read_text() == "the user's own file"  # untouched
    err = _usage_error(["predict", "--model", str(BASE_MODEL_PATH), "--input", str(IMAGE), "--out",
                        str(mine / "sub"), "--device", "cpu"], capsys)
    assert f"{mine} is a file (in {mine / 'sub'})" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["demo", "--out", "{file}"], "--out: {file} is a file"),
    (["train", "--images", "i", "--masks", "m", "--out", "{file}"], "--out: {file} is a file"),
    (["import", "x.png", "--project", "{file}"], "--project: {file} is a file"),
    (["report", "--project", "p", "--out", "{folder}"], "--out: {folder} is a folder: give a file name"),
    (["assess", "--buildings", "b.gpkg", "--out", "{folder}"], "--out: {folder} is a folder"),
    (["predict", "--model", "m", "--input", "i", "--out", "{folder}", "--polygons", "{folder}"],
     "--polygons: {folder} is a folder"),
    (["predict", "--model", "m", "--input", "i", "--out", "{tmp}/" + "a" * 300], "File name too long"),
])
def test_every_output_path_of_the_wrong_kind_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str], message: str) -> None:
    names = {"file": tmp_path / "f.csv", "folder": tmp_path / "d.html", "tmp": tmp_path}
    names["file"].write_text("x")
    names["folder"].mkdir()
    err = _usage_error([a.format(**names) for a in argv], capsys)
    assert message.format(**names) in err


def test_os_error_about_a_named_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # /proc takes no new folders: mkdir fails inside the command, after parsing.
    assert main(["demo", "--out", "/proc/pgssl-no-such-dir", "--which", "sample"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: /proc/pgssl-no-such-dir") and "Traceback" not in "\n".join(err)


def test_closed_stdout_pipe_stops_quietly() -> None:
    # The reader closes the pipe before the command writes (its imports take far longer than this close).
    proc = subprocess.Popen([sys.executable, "-m", "pgssl_core", "inspect", str(IMAGE)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == "", err
