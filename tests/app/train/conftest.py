"""Fixtures of the Train page tests: a private training lock and the app's demo projects (built once, copied
per test); the tiny projects of generated GeoTIFF tiles (``make_project``) come from the project tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.project.conftest import make_project  # noqa: F401 - a fixture shared with the project tests


@pytest.fixture()
def train_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private machine lock, so these tests never wait for (or block) another training run."""
    path = tmp_path / "train.lock"
    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(path))
    monkeypatch.setenv("PGSSL_OFFER_TEST_PROFILE", "1")  # the page offers the seconds-long test profile
    return path


@pytest.fixture()
def projects_env(demo_projects_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 train_lock: Path) -> Path:
    """A private copy of the default projects, used by the app through ``PGSSL_PROJECTS_DIR``."""
    root = tmp_path / "projects"
    shutil.copytree(demo_projects_template, root)
    monkeypatch.setenv("PGSSL_PROJECTS_DIR", str(root))
    return root


@pytest.fixture()
def scratch_init(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs started from the page start from random weights, so these page tests train the tiny test
    profile's own network in seconds (starting from the base model is tested in tests/train/test_init.py)."""
    from dataclasses import replace

    from app import training

    original = training.start_training
    monkeypatch.setattr(training, "start_training",
                        lambda registry, project, config: original(registry, project, replace(config, init="scratch")))
