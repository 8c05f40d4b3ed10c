"""Demo projects in the real catalog: contents, splits, labels SYNTHETIC, idempotence, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pgssl_core.catalog")

from pgssl_core.catalog import Project  # noqa: E402
from pgssl_core.cli import main  # noqa: E402
from pgssl_core.demo.oam_sample import OAM_SAMPLE_DIR  # noqa: E402
from pgssl_core.demo.projects import (  # noqa: E402
    BEIJING_NAME,
    OAM_NAME,
    create_beijing_demo_project,
    create_oam_sample_project,
    ensure_default_projects,
    read_demo_marker,
    split_for_index,
)
from pgssl_core.demo.scene import pick_sites, render_site  # noqa: E402
from pgssl_core.errors import PgsslError  # noqa: E402


@pytest.fixture(scope="module")
def beijing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Beijing demo project (1 tile per district) built once for the module."""
    root = tmp_path_factory.mktemp("projects") / "beijing-demo"
    calls: list[tuple[int, int]] = []
    create_beijing_demo_project(root, tiles_per_district=1, seed=0, progress=lambda d, t: calls.append((d, t))).close()
    assert calls[-1] == (16, 16)
    return root


def test_split_for_index() -> None:
    assert [split_for_index(i, 4) for i in range(4)] == ["train", "train", "val", "test"]
    splits = [split_for_index(i, 20) for i in range(20)]
    assert (splits.count("train"), splits.count("val"), splits.count("test")) == (14, 3, 3)
    assert [split_for_index(i, 1) for i in range(1)] == ["train"]


def test_beijing_project_contents(beijing: Path) -> None:
    with Project.open(beijing) as project:
        assert project.name == BEIJING_NAME and "SYNTHETIC" in project.description
        records = project.tiles()
        assert len(records) == 16
        assert sorted(r.group for r in records)[0] == "Changping"
        assert all(r.original_name.startswith("SYNTHETIC-") and r.has_reference for r in records)
        assert all(r.crs == "EPSG:32650" and r.georeferenced for r in records)
        assert all(r.source.get("synthetic") is True for r in records)
        dongcheng = next(r for r in records if r.group == "Dongcheng")
        stored = project.read(dongcheng.id)
        expected = render_site(pick_sites(None, 1, 0)[0], 0)
        assert np.array_equal(stored.image, expected.image)
        assert np.array_equal(project.reference_mask(dongcheng.id).astype(np.uint8), expected.mask)
    marker = read_demo_marker(beijing)
    assert marker["synthetic"] is True and marker["n_tiles"] == 16


def test_beijing_idempotent(beijing: Path) -> None:
    calls: list[int] = []
    project = create_beijing_demo_project(beijing, tiles_per_district=1, progress=lambda d, t: calls.append(d))
    try:
        assert calls == [] and len(project.tiles()) == 16
    finally:
        project.close()


def test_foreign_folder_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(PgsslError, match="not a finished demo project"):
        create_beijing_demo_project(tmp_path / "x", tiles_per_district=1)
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_oam_sample_project(tmp_path: Path) -> None:
    manifest = pd.read_csv(OAM_SAMPLE_DIR / "manifest.csv")
    with create_oam_sample_project(tmp_path / "oam") as project:
        assert project.name == OAM_NAME
        records = project.tiles()
        assert len(records) == len(manifest)
        by_name = {r.original_name: r for r in records}
        for row in manifest.itertuples():
            assert by_name[row.file].split == row.split and by_name[row.file].group == row.area
        assert all(r.crs == "EPSG:3857" and r.has_reference for r in records)
        one = manifest.sort_values("building_frac").iloc[-1]
        ref = project.reference_mask(by_name[one.file].id)
        assert ref.mean() == pytest.approx(one.building_frac, abs=0.01)


def test_ensure_default_projects_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = ensure_default_projects(tmp_path)
    assert [p.name for p in paths] == ["beijing-demo", "oam-sample"]
    assert read_demo_marker(paths[0])["n_tiles"] == 64
    assert ensure_default_projects(tmp_path) == paths  # second start: nothing to do
    assert main(["demo", "--out", str(tmp_path), "--which", "both"]) == 0
    out = capsys.readouterr().out
    assert out.count("already there") == 2
    assert main(["demo", "--out", str(tmp_path / "b"), "--which", "beijing", "--tiles-per-district", "1",
                 "--seed", "3"]) == 0
    assert "created" in capsys.readouterr().out
    assert read_demo_marker(tmp_path / "b" / "beijing-demo")["seed"] == 3


def test_cli_bad_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:  # refused by argparse, before anything is created
        main(["demo", "--out", "/tmp/x", "--tiles-per-district", "0"])
    assert exit_.value.code == 2
    assert "error: --tiles-per-district: must be > 0, got 0" in capsys.readouterr().err


def test_interrupted_build_leaves_nothing(tmp_path: Path) -> None:
    def boom(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create_beijing_demo_project(tmp_path / "beijing-demo", tiles_per_district=1, progress=boom)
    assert list(tmp_path.iterdir()) == []  # neither a half project nor the hidden build folder
    with create_beijing_demo_project(tmp_path / "beijing-demo", tiles_per_district=1) as project:
        assert len(project.tiles()) == 16
