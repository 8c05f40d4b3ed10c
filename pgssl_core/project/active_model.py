"""The project's active model: the model file the Label page's pre-fill, the Map page's "Predict all
tiles" and the report use. This module is the only reader and writer of its setting.

The setting holds the path relative to the project folder when the file is inside it (so the project can be
moved), else the absolute path.
"""

from __future__ import annotations

from pathlib import Path

from pgssl_core.catalog import Project

#: Project setting holding the active model's path.
ACTIVE_MODEL_KEY = "active_model"


def active_model_setting(project: Project) -> str | None:
    """The stored value (a path as the user sees it), or None when no model was chosen."""
    return project.get_setting(ACTIVE_MODEL_KEY)


def active_model_path(project: Project) -> Path | None:
    """The active model file (a relative setting is inside the project folder), or None. The file may be gone."""
    value = active_model_setting(project)
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else project.root / path


def set_active_model(project: Project, model: Path) -> str:
    """Make ``model`` the project's active model; returns the stored value."""
    try:
        value = str(model.resolve().relative_to(project.root.resolve()))
    except ValueError:
        value = str(model.resolve())
    project.set_setting(ACTIVE_MODEL_KEY, value)
    return value


def adopt_if_no_active_model(project: Project, model: Path) -> bool:
    """Make ``model`` the active one when the project has none (or its file is gone); True when it did.
    A model the user chose is never replaced."""
    current = active_model_path(project)
    if current is not None and current.is_file():
        return False
    set_active_model(project, model)
    return True


def is_active_model(project: Project, model: Path | None) -> bool:
    """``model`` is the project's active model."""
    active = active_model_path(project)
    return bool(active and model and active.resolve() == model.resolve())
