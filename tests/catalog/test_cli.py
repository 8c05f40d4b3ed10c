"""``python -m pgssl_core import``: one line per file, a summary, documented exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_import_creates_project_and_exits_0(make_geotiff, tmp_path, capsys):
    folder = make_geotiff("a.tif").parent
    make_geotiff("big.tif", width=300, height=100)
    code = main(["import", str(folder), "--project", str(tmp_path / "proj"), "--tile-size", "128",
                 "--name", "My roofs"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith(f"added: {folder / 'a.tif'} -> tile ")
    assert out[1] == f"split: {folder / 'big.tif'} into 3 tiles"
    assert out[2].startswith("2 files: 1 added, 1 split into 3 tiles, 0 refused; the project now has 4 tiles")
    with Project.open(tmp_path / "proj") as proj:
        assert proj.name == "My roofs" and len(proj.tiles()) == 4


def test_some_refused_exits_1_and_says_why(make_geotiff, tmp_path, capsys):
    good = make_geotiff("good.tif")
    bad = tmp_path / "inputs" / "bad.tif"
    bad.write_text("plain text")
    code = main(["import", str(good), str(bad), "--project", str(tmp_path / "proj")])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[1].startswith(f"error: {bad}: ") and "text" in out[1]
    # importing again into the existing project adds to it
    assert main(["import", str(good), "--project", str(tmp_path / "proj")]) == 0
    with Project.open(tmp_path / "proj") as proj:
        assert len(proj.tiles()) == 2


def test_nothing_added_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("plain text")
    assert main(["import", str(bad), "--project", str(tmp_path / "proj")]) == 2
    assert "none of the 1 files" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["import", str(tmp_path / "empty"), "--project", str(tmp_path / "proj2")]) == 2
    assert "no image files" in capsys.readouterr().err
    assert not (tmp_path / "proj2").exists(), "a project was created for nothing"


def test_module_entry_point(make_geotiff, tmp_path):
    path = make_geotiff("a.tif")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "import", str(path), "--project",
                           str(tmp_path / "proj"), "--bands", "3,2,1"],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"added: {path} -> tile ")
