"""Explicit limits: each set in one place, documented in docs/RELIABILITY.md with its current value, and named
by the error when an input goes past it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.projects import MAX_PROJECTS_LISTED, ProjectEntry, picker_entries
from app.training import MAX_RUNS_LISTED
from pgssl_core.errors import TileError
from pgssl_core.tiles import read_tile
from pgssl_core.tiles.formats import MAX_IMAGE_SIDE, MAX_RASTER_SIDE, MAX_TILE_PIXELS
from pgssl_core.uploads import MAX_ZIP_MEMBERS, MAX_ZIP_RATIO, MAX_ZIP_TOTAL_BYTES, stage_uploads

from .conftest import REPO_ROOT, write_geotiff
from .test_hostile_uploads import _png_claiming, _zip

pytestmark = pytest.mark.reliability

DOC = (REPO_ROOT / "docs" / "RELIABILITY.md").read_text()


def _limits_table() -> str:
    return DOC.split("## Limits", 1)[1].split("\n## ", 1)[0]


def test_every_limit_is_documented_with_its_current_value() -> None:
    table = _limits_table()
    upload_mb = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    assert f"`maxUploadSize = {upload_mb}`" in table
    assert MAX_TILE_PIXELS == 8192 * 8192 and "`MAX_TILE_PIXELS = 8192 * 8192`" in table
    assert f"`MAX_IMAGE_SIDE = {MAX_IMAGE_SIDE}`" in table and f"`MAX_RASTER_SIDE = {MAX_RASTER_SIDE}`" in table
    assert f"`MAX_ZIP_MEMBERS = {MAX_ZIP_MEMBERS}`" in table
    assert f"`MAX_ZIP_TOTAL_BYTES = {MAX_ZIP_TOTAL_BYTES // 1024**3} GiB`" in table
    assert f"`MAX_ZIP_RATIO = {MAX_ZIP_RATIO}`" in table
    assert f"`MAX_PROJECTS_LISTED = {MAX_PROJECTS_LISTED}`" in table
    assert f"`MAX_RUNS_LISTED = {MAX_RUNS_LISTED}`" in table


def test_limits_are_defined_once() -> None:
    """No second definition of a limit anywhere in the library or the app."""
    for name in ("MAX_TILE_PIXELS", "MAX_ZIP_MEMBERS", "MAX_ZIP_RATIO", "MAX_ZIP_TOTAL_BYTES",
                 "MAX_PROJECTS_LISTED", "MAX_RUNS_LISTED"):
        pattern = re.compile(rf"^{name}\s*(:[^=]*)?=", re.MULTILINE)
        homes = [p for folder in ("pgssl_core", "app") for p in (REPO_ROOT / folder).rglob("*.py")
                 if pattern.search(p.read_text())]
        assert len(homes) == 1, (name, homes)
    config = (REPO_ROOT / ".streamlit" / "config.toml").read_text()
    assert config.count("maxUploadSize") == 1


def test_pixel_budget_is_named(tmp_path: Path) -> None:
    with pytest.raises(TileError, match=r"over the 0\.0 Mpx limit for one tile"):
        read_tile(write_geotiff(tmp_path / "t.tif"), max_pixels=1000)
    over = int((MAX_TILE_PIXELS ** 0.5)) + 100  # 8292 x 8292 PNG header: over the budget, under Pillow's own
    with pytest.raises(TileError, match=r"over the 67\.1 Mpx limit for one tile"):
        read_tile(_png_claiming(tmp_path / "big.png", over, over))


def test_zip_entry_count_is_named(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "many.zip", {f"{i}.wld": b"1" for i in range(MAX_ZIP_MEMBERS + 1)}).read_bytes()
    staged, problems = stage_uploads([("many.zip", archive)], tmp_path / "staging")
    assert staged == [] and "MAX_ZIP_MEMBERS" in problems[0].message


def test_project_picker_limit_keeps_the_current_project() -> None:
    entries = [ProjectEntry(f"p{i:03d}", f"P{i:03d}", Path(f"/x/p{i:03d}")) for i in range(250)]
    shown, hidden = picker_entries(entries, "p249")
    assert len(shown) == MAX_PROJECTS_LISTED and hidden == 50 and shown[-1].slug == "p249"
    shown, hidden = picker_entries(entries[:5], "p002")
    assert [e.slug for e in shown] == ["p000", "p001", "p002", "p003", "p004"] and hidden == 0


def test_run_history_lists_the_newest_runs_only(tmp_path: Path) -> None:
    from app import training
    from app.jobs import JobRegistry
    from pgssl_core.catalog import Project

    with Project.create(tmp_path / "p", "runs") as project:
        ids = [project.create_run(training.RUN_KIND, {"method": "pgssl", "profile": "test"})[0]
               for _ in range(MAX_RUNS_LISTED + 5)]
        table = training.history_table(JobRegistry(), project)
    assert len(table) == MAX_RUNS_LISTED and list(table["run"]) == ids[::-1][:MAX_RUNS_LISTED]
