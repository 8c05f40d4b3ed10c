"""Fixtures shared by every test folder.

Room-specific fixtures live in ``tests/<room>/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared real data sits beside the checkout (../shared) both here and in CI.
SHARED_DATA = Path(os.environ.get("PGSSL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
OAM_DIR = SHARED_DATA / "oam_buildings"


@pytest.fixture(scope="session", autouse=True)
def session_training_lock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One machine-wide training lock per test session (``$PGSSL_TRAIN_LOCK``, inherited by the CLI runs the
    tests start): a user's app or another suite training on the same machine must not make tests fail with
    "another training job is running", and the tests must not block them."""
    path = tmp_path_factory.mktemp("lock") / "train.lock"
    previous = os.environ.get("PGSSL_TRAIN_LOCK")
    os.environ["PGSSL_TRAIN_LOCK"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PGSSL_TRAIN_LOCK", None)
    else:
        os.environ["PGSSL_TRAIN_LOCK"] = previous


@pytest.fixture(scope="session")
def oam_dir() -> Path:
    """The shared real tiles (``../shared/data/oam_buildings``); skips when absent."""
    if not (OAM_DIR / "manifest.csv").is_file():
        pytest.skip(f"shared real data not found at {OAM_DIR}")
    return OAM_DIR


@pytest.fixture(scope="session")
def demo_projects_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's default projects (Beijing demo and real sample), built once per test session.

    Tests copy it (``shutil.copytree``) rather than modify it.
    """
    from pgssl_core.demo.projects import ensure_default_projects

    root = tmp_path_factory.mktemp("demo-projects")
    ensure_default_projects(root)
    return root


@pytest.fixture()
def projects_env(demo_projects_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the default projects, used by the app through ``PGSSL_PROJECTS_DIR``."""
    root = tmp_path / "projects"
    shutil.copytree(demo_projects_template, root)
    monkeypatch.setenv("PGSSL_PROJECTS_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Debian Chromium driven by Playwright (never `playwright install`), one per test session.

    Shared by the e2e and the reliability browser tests: Playwright's sync API allows one running instance
    per thread, so a second ``sync_playwright()`` while this one lives fails ("inside the asyncio loop").
    """
    from tests.e2e.app_process import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()
