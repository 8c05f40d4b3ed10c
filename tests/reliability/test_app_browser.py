"""The app under attack in a real browser: hostile uploads through Chromium into `streamlit run`, the server's
peak memory, the file system around it, then SIGKILL of the server and a restart on the same projects."""

from __future__ import annotations

import os
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


def test_hostile_uploads_in_the_browser_then_sigkill_and_restart(tmp_path: Path) -> None:
    from tests.e2e.app_process import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    files, projects = tmp_path / "files", tmp_path / "projects"
    files.mkdir()
    projects.mkdir()
    uploads = [SAMPLE_PNGS[2], _bomb(files / "bomb.zip"), _png_claiming(files / "huge.png", 100_000, 100_000),
               _zip(files / "many.zip", {f"f{i}.txt": b"" for i in range(10_000)}),
               _zip(files / "links.zip", {}, {"link.png": "/etc/passwd"}), files / "notes.tif"]
    (files / "notes.tif").write_text("not an image\n")
    log = (tmp_path / "streamlit.log").open("wb")
    proc, url = start_app(projects, log, timeout=300)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
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
            browser.close()
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
