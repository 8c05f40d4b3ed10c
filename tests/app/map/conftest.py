"""Fixtures of the Map page tests: the project tests' small georeferenced project and tiny model file."""

from tests.project.conftest import small_project, tiny_model_file  # noqa: F401 - fixtures shared with tests/project
