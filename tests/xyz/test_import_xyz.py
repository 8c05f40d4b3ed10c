"""``import-xyz`` against the local tile service of ``conftest.py``: good tiles become georeferenced project tiles
(EPSG:3857 on their XYZ square, address and attribution kept); every failure gives a clear one-line result and
leaves nothing half-written (no new project, no new tile, no cached bad tile)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from pgssl_core.catalog import Project
from pgssl_core.catalog.layout import ProjectLayout
from pgssl_core.cli import main
from pgssl_core.errors import PgsslError
from pgssl_core.tiles.georef import xyz_transform
from pgssl_core.xyz.fetch import TileFetcher, check_template, public_service_name
from pgssl_core.xyz.grid import bbox_tiles
from pgssl_core.xyz.importer import SOURCES_SETTING
from tests.xyz.conftest import tile_png

BBOX = ("116.3900", "39.9050", "116.3930", "39.9065")  # a few tiles of central Beijing at zoom 18
ZOOM = 18
ATTRIBUTION = "Imagery © Test Tiles contributors"
FAST = ["--rate", "1000", "--backoff", "0", "--retries", "2", "--timeout", "2"]


def _import(url: str, project: Path, cache: Path, *extra: str, area: tuple[str, ...] = ("--bbox", *BBOX)) -> int:
    return main(["import-xyz", "--url", url, "--zoom", str(ZOOM), *area, "--project", str(project),
                 "--attribution", ATTRIBUTION, "--cache", str(cache), *FAST, *extra])


def _plan():
    return bbox_tiles(*(float(v) for v in BBOX), ZOOM)


def _no_project(path: Path) -> bool:
    return not ProjectLayout(path).db_path.exists()


def test_good_tiles_become_georeferenced_project_tiles(tile_server, tmp_path, capsys) -> None:
    plan = _plan()
    assert 4 <= len(plan.tiles) <= 20
    url = tile_server.url("good") + "?key=SECRET"  # a key in the query string is never stored
    assert _import(url, tmp_path / "p", tmp_path / "cache") == 0
    out = capsys.readouterr().out
    assert f"{len(plan.tiles)} tiles added ({len(plan.tiles)} downloaded, 0 from the cache)" in out
    with Project.open(tmp_path / "p") as project:
        records = project.tiles()
        assert len(records) == len(plan.tiles)
        for record in records:
            xyz = record.source["xyz"]
            z, x, y = xyz["z"], xyz["x"], xyz["y"]
            assert (z, x, y) in plan.tiles and record.original_name == f"{z}/{x}/{y}.png"
            assert record.source["attribution"] == ATTRIBUTION and "SECRET" not in str(record.source)
            tile = project.read(record.id)
            assert tile.crs.to_epsg() == 3857
            assert tile.transform.almost_equals(xyz_transform(z, x, y, 256, 256), precision=1e-6)
            expected = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
                __import__("io").BytesIO(tile_png(z, x, y))).convert("RGB"))
            assert np.array_equal(tile.image, expected)
        sources = project.get_setting(SOURCES_SETTING)
        assert [s["attribution"] for s in sources] == [ATTRIBUTION]
        assert "SECRET" not in str(sources) and sources[0]["service"].endswith("/good/{z}/{x}/{y}.png")
    # Again: nothing is downloaded or added twice.
    before = tile_server.requests_to("good")
    assert _import(url, tmp_path / "p", tmp_path / "cache") == 0
    assert "0 tiles added" in capsys.readouterr().out and tile_server.requests_to("good") == before


def test_area_over_the_cap_is_refused_before_any_request(tile_server, tmp_path, capsys) -> None:
    plan = _plan()
    before = sum(tile_server.hits.values())
    assert _import(tile_server.url("good"), tmp_path / "p", tmp_path / "cache", "--max-tiles", "3") == 2
    err = capsys.readouterr().err
    assert f"{len(plan.tiles)} tiles, more than the cap of 3" in err and "--yes" in err
    assert sum(tile_server.hits.values()) == before and _no_project(tmp_path / "p")
    assert _import(tile_server.url("good"), tmp_path / "p", tmp_path / "cache", "--max-tiles", "3", "--yes") == 0


@pytest.mark.parametrize(("kind", "message", "requests"), [
    ("e500", "HTTP 500 Internal Server Error (the service failed; 3 tries)", 3),  # 1 try + 2 retries
    ("e429", "HTTP 429 Too Many Requests (rate limited by the service; 3 tries)", 3),
    # Found by a fresh-eyes QA run: a 404 (not retried) said "after 5 tries".
    ("e404", "HTTP 404 Not Found (the service has no tile at this address; 1 try)", 1),
    ("garbage", "not a readable image", 1),
    ("html", "web page instead of an image (text/html; charset=utf-8: 'Tile quota exceeded')", 1),
])
def test_failing_service_gives_a_clear_result_and_writes_nothing(tile_server, tmp_path, capsys, kind, message,
                                                                 requests) -> None:
    assert _import(tile_server.url(kind), tmp_path / "p", tmp_path / "cache") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    z, x, y = _plan().tiles[0]
    assert err.startswith(f"error: tile {z}/{x}/{y}: ") and message in err, err
    assert tile_server.hits[f"/{kind}/{z}/{x}/{y}.png"] == requests
    assert _no_project(tmp_path / "p")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()], "a bad tile entered the cache"


def test_stalled_service_times_out(tile_server, tmp_path, capsys) -> None:
    assert _import(tile_server.url("stall"), tmp_path / "p", tmp_path / "cache", "--timeout", "0.3",
                   "--retries", "1") == 2
    err = capsys.readouterr().err
    assert "the service did not answer within 0.3 s (2 tries)" in err
    assert _no_project(tmp_path / "p")


def test_refused_connection_says_so_with_the_real_number_of_tries(tmp_path, capsys) -> None:
    # Found by a fresh-eyes QA run: a refused connection was reported as a timeout.
    with socket.socket() as probe:  # a port of this machine that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"
    assert _import(url, tmp_path / "p", tmp_path / "cache", "--retries", "1") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(": the service refused the connection (2 tries)"), err
    assert _no_project(tmp_path / "p")


def test_retries_recover_from_a_temporary_failure(tile_server, tmp_path) -> None:
    assert _import(tile_server.url("flaky"), tmp_path / "p", tmp_path / "cache") == 0
    with Project.open(tmp_path / "p") as project:
        assert len(project.tiles()) == len(_plan().tiles)
    assert tile_server.requests_to("flaky") == 2 * len(_plan().tiles)


def test_failure_part_way_leaves_an_existing_project_as_it_was(tile_server, tmp_path, capsys) -> None:
    with Project.create(tmp_path / "p", "mine"):
        pass
    assert _import(tile_server.url("good"), tmp_path / "p", tmp_path / "cache", "--bbox", *BBOX,
                   area=()) == 0
    with Project.open(tmp_path / "p") as project:
        count, settings = len(project.tiles()), project.get_setting(SOURCES_SETTING)
    capsys.readouterr()
    z, x, y = _plan().tiles[-1]
    kind = f"failat_{x}_{y}"
    assert _import(tile_server.url(kind), tmp_path / "p", tmp_path / "cache") == 2
    assert f"tile {z}/{x}/{y}: HTTP 500" in capsys.readouterr().err
    with Project.open(tmp_path / "p") as project:
        assert len(project.tiles()) == count and project.get_setting(SOURCES_SETTING) == settings
    cached = [p for p in (tmp_path / "cache").rglob("*.png")]
    # the good tiles of both services are cached (a re-run resumes); the failed one is not
    assert len(cached) == 2 * len(_plan().tiles) - 1


def test_district_from_the_project_boundaries(tile_server, tmp_path, capsys) -> None:
    with Project.create(tmp_path / "p", "mine"):
        pass
    area = ("--district", "dongcheng")
    rc = main(["import-xyz", "--url", tile_server.url("good"), "--zoom", "13", *area, "--project", str(tmp_path / "p"),
               "--attribution", ATTRIBUTION, "--cache", str(tmp_path / "cache"), *FAST])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("Dongcheng at zoom 13: ")
    with Project.open(tmp_path / "p") as project:
        assert 4 <= len(project.tiles()) <= 30
        assert {r.source["xyz"]["z"] for r in project.tiles()} == {13}
    rc = main(["import-xyz", "--url", tile_server.url("good"), "--zoom", "13", "--district", "Atlantis",
               "--project", str(tmp_path / "p"), "--attribution", ATTRIBUTION, "--cache", str(tmp_path / "cache")])
    assert rc == 2 and "no district called 'Atlantis'" in capsys.readouterr().err


@pytest.mark.parametrize(("template", "reason"), [
    ("ftp://host/{z}/{x}/{y}.png", "http:// or https://"),
    ("https://host/{z}/{x}.png", "needs {y}"),
    ("https://{s}.host/{z}/{x}/{y}.png", "may only hold"),
])
def test_bad_templates_are_refused(template, reason) -> None:
    with pytest.raises(PgsslError, match=reason.replace("{", r"\{").replace("}", r"\}")):
        check_template(template)


def test_stored_service_name_drops_keys_and_needs_a_host() -> None:
    assert public_service_name("https://key:secret@host:8080/{z}/{x}/{y}.png?token=1") == "https://host:8080/{z}/{x}/{y}.png"
    with pytest.raises(PgsslError, match="has no host name"):  # user info but no host: passes check_template
        public_service_name(check_template("https://user@/{z}/{x}/{y}.png"))


def test_bad_bbox_and_zoom(tmp_path, capsys) -> None:
    assert main(["import-xyz", "--url", "http://127.0.0.1:9/{z}/{x}/{y}.png", "--zoom", "18", "--bbox", "117", "40",
                 "116", "41", "--project", str(tmp_path / "p"), "--attribution", "x"]) == 2
    assert "W < E" in capsys.readouterr().err
    assert main(["import-xyz", "--url", "http://127.0.0.1:9/{z}/{x}/{y}.png", "--zoom", "31", "--bbox", *BBOX,
                 "--project", str(tmp_path / "p"), "--attribution", "x"]) == 2
    assert "zoom must be between 0 and 30" in capsys.readouterr().err


def test_a_plan_too_large_to_list_is_refused_before_listing_it(tmp_path, capsys) -> None:
    # A 1 km bbox at zoom 30 is about 1.4e11 tiles: listing them used to exhaust the memory (found by a QA run,
    # killed by the kernel at 23 GB) before the cap was checked, even without --yes.
    args = ["import-xyz", "--url", "http://127.0.0.1:9/{z}/{x}/{y}.png", "--bbox", "116.395", "39.905", "116.405",
            "39.912", "--project", str(tmp_path / "p"), "--attribution", "x", "--yes"]
    assert main([*args, "--zoom", "30"]) == 2
    err = capsys.readouterr().err
    assert "tiles at zoom 30, more than one import can list (1,000,000)" in err and "lower zoom" in err
    assert not (tmp_path / "p").exists()
    with pytest.raises(PgsslError, match="more than one import can list"):
        bbox_tiles(100, 20, 120, 40, 16)  # about 14 million tiles
    assert len(bbox_tiles(116.395, 39.905, 116.405, 39.912, 17).tiles) < 100  # ordinary areas still list


def test_fetcher_cache_is_per_service(tmp_path) -> None:
    a = TileFetcher("http://127.0.0.1:9/a/{z}/{x}/{y}.png", tmp_path)
    b = TileFetcher("http://127.0.0.1:9/b/{z}/{x}/{y}.png", tmp_path)
    assert a.cache_dir != b.cache_dir and a.cache_dir.parent == tmp_path
