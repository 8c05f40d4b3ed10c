"""``predict --input LIST.txt``: relative paths are read from the list's folder; a listed file that is missing is
named and skipped, the others are predicted, and the exit status is 1 with a summary of the skipped ones (found by
a fresh-eyes QA run: one missing tile aborted the whole run). The progress bar counts windows, in words."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from pgssl_core.assess import list_rasters
from pgssl_core.cli import main
from pgssl_core.cli.progress import counted_bar
from pgssl_core.errors import PgsslError
from pgssl_core.models.init_model import BASE_MODEL_PATH
from pgssl_core.shipped import ASSETS_DIR

TILES = sorted((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))[:2]


def _list(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "survey"
    (folder / "imgs").mkdir(parents=True)
    for tile in TILES:
        shutil.copy(tile, folder / "imgs" / tile.name)
    listing = folder / "tiles.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _predict(listing: Path, out: Path) -> int:
    return main(["predict", "--model", str(BASE_MODEL_PATH), "--input", str(listing), "--out", str(out),
                 "--device", "cpu"])


def test_missing_listed_tile_is_skipped_and_the_others_predicted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # The QA run's input: a list with one tile that is gone.
    listing = _list(tmp_path, ["# the survey's tiles", f"imgs/{TILES[0].name}", "imgs/gone.png  # deleted",
                               f"imgs/{TILES[1].name}"])
    monkeypatch.chdir(tmp_path)  # not the list's folder: relative paths must still be read from there
    assert _predict(listing, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert f"error: tiles.txt names {listing.parent / 'imgs' / 'gone.png'}, which does not exist" in err
    assert err.strip().splitlines()[-1] == ("error: 1 of 3 inputs skipped (see above), the others were predicted: "
                                            "gone.png")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{t.stem}_probability.tif" for t in TILES]


def test_missing_and_refused_inputs_are_summed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = _list(tmp_path, [f"imgs/{TILES[0].name}", "imgs/gone.png", "imgs/notes.png"])
    (listing.parent / "imgs" / "notes.png").write_text("not an image")
    assert _predict(listing, tmp_path / "out") == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: 2 of 3 inputs skipped") and last.endswith("gone.png, notes.png")


def test_a_list_whose_files_are_all_missing_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = _list(tmp_path, ["a.png", "b.png"])
    assert _predict(listing, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: none of the 2 files tiles.txt names exists"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_assess_lists_stay_all_or_nothing_and_name_the_missing(tmp_path: Path) -> None:
    # District statistics over some of the rasters would be wrong: assess refuses up front, naming them all.
    listing = tmp_path / "masks.txt"
    listing.write_text("a.tif\nb.tif\n")
    with pytest.raises(PgsslError) as info:
        list_rasters(listing)
    assert str(info.value) == (f"masks.txt names 2 missing file(s): {tmp_path / 'a.tif'}, {tmp_path / 'b.tif'} "
                               f"(relative paths are read from the list's folder, {tmp_path})")


def test_progress_bar_counts_windows_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = _list(tmp_path, [f"imgs/{TILES[0].name}"])
    assert _predict(listing, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "window/s" in err and "1/1" in err
    # the QA run saw "0win [00:00, ?win/s]": the unit "win" right after a count or a rate, never "window"
    assert not re.search(r"[\d?]win(?!dow)", err), err


def test_counted_bar_appears_once_the_total_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    with counted_bar("tiles.png", "window") as progress:
        assert stderr.getvalue() == ""  # no bar without a total
        progress(2, 4)
        progress(4, 4)
    assert "tiles.png: 100%" in stderr.getvalue() and "4/4" in stderr.getvalue()


@pytest.mark.parametrize("command", ["predict", "assess"])
def test_help_says_where_relative_list_paths_are_read_from(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "relative paths" in text and "read from the list file's folder" in text
