"""End-to-end fixtures: a real `streamlit run` server on a free port and Debian's Chromium via Playwright.

Screenshots go to ``test-artifacts/`` (kept after the run so a person can look at them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.app_process import start_app, stop_app


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Start the app on a free loopback port with a fresh projects folder; yields url and folder."""
    projects = tmp_path_factory.mktemp("projects")
    with (tmp_path_factory.mktemp("logs") / "streamlit.log").open("wb") as log:
        proc, url = start_app(projects, log)
        try:
            yield {"url": url, "projects": projects}
        finally:
            stop_app(proc)


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    yield tab
    context.close()
