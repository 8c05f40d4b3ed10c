"""Fixtures of the Map page tests: the project tests' small georeferenced project and tiny model file, and an
empty projects folder."""

from pathlib import Path

import pytest

from tests.project.conftest import small_project, tiny_model_file  # noqa: F401 - fixtures shared with tests/project


@pytest.fixture()
def empty_projects_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty projects folder (the app makes its demo projects there on first use) with its own training lock."""
    monkeypatch.setenv("PGSSL_PROJECTS_DIR", str(tmp_path))
    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(tmp_path / "train.lock"))
    return tmp_path
