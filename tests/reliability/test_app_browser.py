"""The app under attack in a real browser: hostile uploads through Chromium into `streamlit run`, the server's
peak memory, the file system around it, then SIGKILL of the server and a restart on the same projects."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import urllib.request
from pathlib import Path

import pytest

from pgssl_core.catalog import Project

from .conftest import SAMPLE_PNGS, snapshot
from .test_hostile_uploads import _bomb, _png_claiming, _zip

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.slow]


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (the peak resident set size) of a live process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        return response.status == 200


def test_hostile_uploads_in_the_browser_then_sigkill_and_restart(tmp_path: Path, demo_projects_template: Path,
                                                                 browser) -> None:
    from tests.e2e.app_process import start_app, stop_app

    files, projects = tmp_path / "files", tmp_path / "projects"
    files.mkdir()
    shutil.copytree(demo_projects_template, projects)  # built once per session: the server starts without building
    uploads = [SAMPLE_PNGS[2], _bomb(files / "bomb.zip"), _png_claiming(files / "huge.png", 100_000, 100_000),
               _zip(files / "many.zip", {f"f{i}.txt": b"" for i in range(10_000)}),
               _zip(files / "links.zip", {}, {"link.png": "/etc/passwd"}), files / "notes.tif"]
    (files / "notes.tif").write_text("not an image\n")
    log = (tmp_path / "streamlit.log").open("wb")
    proc, url = start_app(projects, log, timeout=300)
    try:
        with contextlib.ExitStack() as contexts:  # the session's Chromium; this test's contexts close at the end
            page = contexts.enter_context(contextlib.closing(
                browser.new_context(viewport={"width": 1400, "height": 1000}))).new_page()
            page.goto(url + "/?project=oam-sample", wait_until="domcontentloaded")
            page.get_by_text("Real sample", exact=False).first.wait_for(timeout=180_000)
            with Project.open(projects / "oam-sample") as project:
                tiles_before = len(project.tiles())
            rss_before = _peak_rss_mb(proc.pid)
            before = snapshot(tmp_path)
            page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files([str(p) for p in uploads])
            page.get_by_role("button", name="Import 6 file(s)").click()
            page.get_by_text("Last import: 1 added, 5 refused.").wait_for(timeout=180_000)
            for words in ("MAX_ZIP_RATIO", "MAX_ZIP_MEMBERS", "symbolic link", "content is text", "MAX_TILE_PIXELS"):
                page.get_by_text(words, exact=False).first.wait_for(timeout=10_000)  # one line per refused file
            assert _healthy(url)
            rss_peak = _peak_rss_mb(proc.pid)
        after = snapshot(tmp_path)
        outside = sorted(p for p in set(after) | set(before) if after.get(p) != before.get(p)
                         and not p.startswith("projects/oam-sample/") and p != "streamlit.log")
        assert outside == []  # nothing written outside the project folder
        assert not any((projects / "oam-sample" / "staging").iterdir())
        print(f"browser uploads: server peak RSS {rss_before:.0f} MB before, {rss_peak:.0f} MB after the hostile batch")
        assert rss_peak - rss_before < 300

        os.kill(proc.pid, signal.SIGKILL)  # the server dies at once; then a new one on the same projects
        proc.wait(timeout=30)
        proc, url = start_app(projects, log, timeout=300)
        assert _healthy(url)
        with Project.open(projects / "oam-sample") as project:
            assert len(project.tiles()) == tiles_before + 1  # the added tile survived the kill
    finally:
        stop_app(proc)
        log.close()


def _canvas(page, timeout_ms: int):
    """The Label page's one drawing canvas, once there is exactly one: while Streamlit reruns a page on a loaded
    machine, the stale canvas can still be attached beside the new one (a Playwright strict-mode error)."""
    from playwright.sync_api import expect

    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_have_count(1, timeout=timeout_ms)
    return canvas


def _stroke(page, row: int) -> None:
    """One horizontal building stroke across the canvas at canvas row ``row`` (px)."""
    box = _canvas(page, 60_000).bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + row)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + row, steps=20)
    page.mouse.up()


def test_two_browser_contexts_paint_one_tile_without_a_silent_loss(tmp_path: Path, demo_projects_template: Path,
                                                                   browser) -> None:
    """Tab B edits a tile that tab A saved meanwhile: B's save is refused with a message and B reloads; B's next
    stroke lands on top of A's. No stroke is lost without the user being told."""
    import time
    from urllib.parse import parse_qs, urlparse

    from tests.e2e.app_process import start_app, stop_app
    from tests.e2e.test_label_browser import _wait_until

    projects = tmp_path / "projects"
    shutil.copytree(demo_projects_template, projects)
    proc, url = start_app(projects, timeout=300)

    def saved(tile_id: str):
        with Project.open(projects / "beijing-demo") as project:
            return project.load_label(tile_id)

    def building_row(mask, canvas_row: int) -> bool:
        return bool((mask[canvas_row // 2, 60:140] == 1).all())  # 256 px tiles shown at 512 px

    try:
        with contextlib.ExitStack() as contexts:  # the session's Chromium; this test's contexts close at the end
            tabs = [contexts.enter_context(contextlib.closing(
                browser.new_context(viewport={"width": 1400, "height": 1000}))).new_page() for _ in range(2)]
            tabs[0].goto(f"{url}/label?project=beijing-demo", wait_until="domcontentloaded")
            _canvas(tabs[0], 180_000).wait_for(timeout=180_000)
            tile_id = parse_qs(urlparse(tabs[0].url).query)["tile"][0]
            tabs[1].goto(f"{url}/label?project=beijing-demo&tile={tile_id}", wait_until="domcontentloaded")
            for tab in tabs:
                _canvas(tab, 180_000).wait_for(timeout=180_000)
                tab.locator("canvas.dc-background-canvas").wait_for(state="attached", timeout=30_000)
            time.sleep(1.0)
            _stroke(tabs[0], 100)
            _wait_until(lambda: building_row(saved(tile_id)[0], 100), 90, "tab A's stroke on disk")
            _stroke(tabs[1], 300)  # tab B still edits version 0
            tabs[1].get_by_text("changed in another tab", exact=False).first.wait_for(timeout=90_000)
            mask, version = saved(tile_id)
            assert building_row(mask, 100) and version == 1  # A's stroke kept, B's refused (and said so)
            for attempt in range(3):  # B redoes its stroke on the reloaded canvas (which a loaded machine
                _canvas(tabs[1], 60_000).wait_for(timeout=60_000)  # may still be drawing)
                time.sleep(3.0)
                _stroke(tabs[1], 300)
                try:
                    _wait_until(lambda: building_row(saved(tile_id)[0], 300), 60, "tab B's stroke on disk")
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            mask, version = saved(tile_id)
            assert building_row(mask, 100) and building_row(mask, 300) and version >= 2  # both strokes kept
    finally:
        stop_app(proc)
