"""The new-place benchmark's split: deterministic, paired across seeds, and no ground shared between the
labelled, validation and test tiles (zoom-19 spots of the XYZ names; image parts of the Dubai tiles)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pgssl_core.tiles.georef import parse_xyz_name

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "new_place.py"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def new_place() -> ModuleType:
    spec = importlib.util.spec_from_file_location("new_place_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["new_place_bench"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def places(new_place: ModuleType) -> dict:
    if not (SHARED / "kathmandu_oam").is_dir() or not (SHARED / "dubai_satellite").is_dir():
        pytest.skip("the shared new-place data is not beside this checkout")
    return new_place.place_sets(SHARED)


def _z19(name: str) -> tuple[int, int]:
    zxy = parse_xyz_name(name)
    assert zxy is not None
    z, x, y = zxy
    return x >> (z - 19), y >> (z - 19)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kathmandu_parts_share_no_zoom19_spot(new_place: ModuleType, places: dict, seed: int) -> None:
    split = new_place.split_set(places["kathmandu"], seed)
    spots = [{_z19(n) for n in part} for part in (split.test, split.val, split.order)]
    assert not spots[0] & spots[1] and not spots[0] & spots[2] and not spots[1] & spots[2]
    assert len(split.val) == new_place.VAL_TILES
    assert len(split.order) >= 20  # a 20-label row can be drawn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dubai_parts_share_no_image_part_and_the_pool_has_no_roof_test_tile(new_place: ModuleType, places: dict,
                                                                           seed: int) -> None:
    place = places["dubai"]
    split = new_place.split_set(place, seed)
    parts = [{n.split("_y")[0] for n in part} for part in (split.test, split.val, split.order)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    pool = set(split.pool(20))
    assert not pool & set(split.test) and not pool & set(split.val)
    assert set(place.others) <= pool  # the tiles without roof outlines are always unlabelled pool


def test_split_is_deterministic_and_test_tiles_are_the_same_for_every_seed(new_place: ModuleType,
                                                                          places: dict) -> None:
    for place in places.values():
        a, b, c = (new_place.split_set(place, s) for s in (0, 0, 1))
        assert a == b
        assert a.test == c.test  # paired comparisons across seeds and rows
        assert a.order != c.order  # the labelled tiles do follow the seed


def test_label_counts_are_nested(new_place: ModuleType, places: dict) -> None:
    split = new_place.split_set(places["kathmandu"], 0)
    five, twenty, every = split.labelled(5), split.labelled(20), split.labelled(None)
    assert set(five) < set(twenty) < set(every)
    assert set(split.pool(20)) == set(every) - set(twenty)
    assert split.pool(None) == []


def test_cell_tiles_keep_test_tiles_out_of_every_row_but_the_oracle(new_place: ModuleType, places: dict,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the oracle row (the ceiling of the reference masks) learns from test tiles; a user's row never does."""
    loaded: list[tuple[str, ...]] = []
    monkeypatch.setattr(new_place, "load_tiles", lambda place, names, masks, gsd: loaded.append(tuple(names))
                        or [{"name": n} for n in names])
    place = places["kathmandu"]
    test = set(new_place.split_set(place, 0).test)
    labelled, pool, val = new_place.cell_tiles(place, "supervised", 20, 1, None, 0.3)
    assert len(labelled) == 20 and len(val) == new_place.VAL_TILES
    assert not test & {t["name"] for t in labelled + pool + val}
    labelled, pool, val = new_place.cell_tiles(place, "oracle", None, 1, None, 0.3)
    assert {t["name"] for t in labelled} == test and pool == [] and {t["name"] for t in val} <= test
    assert new_place.cell_tiles(place, "zero_shot", 0, 0, None, 0.3) == ([], [], [])


def test_working_gsd_is_the_apps_suggestion_unless_set(new_place: ModuleType, places: dict) -> None:
    """Dubai's 1 m tiles are read at 0.7 m (as the app suggests for them), Kathmandu's drone tiles at the
    profile's 0.3 m; ``--set gsd_m=...`` overrides both."""
    default = new_place.parse_args([])
    assert new_place.working_gsd(default, places["dubai"]) == 0.7
    assert new_place.working_gsd(default, places["kathmandu"]) == 0.3
    assert new_place.working_gsd(new_place.parse_args(["--set", "gsd_m=0.5"]), places["dubai"]) == 0.5


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_smoke_cell_writes_a_row_and_is_skipped_on_a_rerun(places: dict, tmp_path: Path) -> None:
    """One tiny real cell (profile ``test``, 3 labels of Kathmandu): a CSV row with test figures and the table;
    the same command again skips the finished cell."""
    import csv
    import subprocess

    cmd = [sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path), "--shared", str(SHARED), "--threads", "1"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=540)
    assert first.returncode == 0, first.stderr[-2000:]
    with open(tmp_path / "new_place.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["method"] == "supervised" and rows[0]["labelled"] == "3"
    assert 0.0 <= float(rows[0]["test_iou"]) <= 1.0 and rows[0]["test"] == "63"
    assert "| kathmandu |" in (tmp_path / "new_place.md").read_text()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=540)
    assert again.returncode == 0 and "skip (done)" in again.stdout
