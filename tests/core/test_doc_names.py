"""Code named in the documents exists: moving a module or renaming a function updates the prose that points at it.

Checked: the README, docs/*.md and the report's HTML template (it tells users which function to call). A file
path ``pgssl_core/.../x.py`` (or ``room/x.py`` for a room of the package) must exist, and a dotted name
``pgssl_core.a.b.c`` must import or be an attribute of what imports.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")),
             REPO_ROOT / "pgssl_core" / "report" / "templates" / "report.html"]
ROOMS = sorted(p.name for p in (REPO_ROOT / "pgssl_core").iterdir() if (p / "__init__.py").is_file())
FULL_PATH = re.compile(r"pgssl_core/[\w/]+\.py")
ROOM_PATH = re.compile(r"`(?:%s)/[\w/]+\.py`" % "|".join(ROOMS))
DOTTED = re.compile(r"pgssl_core(?:\.\w+)+")


def _resolves(dotted: str) -> bool:
    """True when the longest importable prefix of ``dotted`` holds the rest as attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_paths_and_names_in_documents_exist(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    paths = set(FULL_PATH.findall(text)) | {"pgssl_core/" + m.strip("`") for m in ROOM_PATH.findall(text)}
    missing = sorted(p for p in paths if not (REPO_ROOT / p).is_file())
    unresolved = sorted(name for name in set(DOTTED.findall(text)) if not _resolves(name))
    assert not missing and not unresolved, (f"{document.name} names code that does not exist: "
                                            f"files {missing}, names {unresolved}")


def test_the_check_sees_a_stale_name() -> None:
    assert _resolves("pgssl_core.project.baseline_compare.train_baseline")
    assert not _resolves("pgssl_core.train.baseline_compare.train_baseline")  # moved to project/ (issue 14)
    assert not _resolves("pgssl_core.io.no_such_function")
