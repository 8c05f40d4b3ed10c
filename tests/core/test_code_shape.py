"""Shape of the code in ``pgssl_core``: no import cycle between its modules, no function over 80 lines.

**What counts as a module cycle.** Every module and package ``__init__`` under ``pgssl_core`` is a node. Every
``import`` statement in its source is an edge, wherever it sits: at module level, inside a function (a lazy
import only hides the cycle from the interpreter until the function runs; the two modules still cannot be read,
tested or moved apart) and under ``if TYPE_CHECKING:`` (an annotation is a dependency of the reader), as
``tests/core/test_package_layers.py`` counts them between packages. An edge goes to the module an import names:
``import a.b`` and ``from a.b import x`` go to ``a.b`` (a package's ``__init__``), and ``from a.b import c``
also goes to ``a.b.c`` when ``c`` is a submodule, because the statement reads the package's namespace first.
The parent packages Python initialises on the way (``a`` for ``import a.b``) are not edges: every submodule
of a package that re-exports it would otherwise form a cycle with it. So ``catalog/__init__.py`` importing
``catalog/project.py`` while ``project.py`` does ``from pgssl_core.catalog import labels`` is a cycle; ``project.py``
doing ``from pgssl_core.catalog.labels import ...`` is not.

**What counts as a function's length.** ``end_lineno - lineno + 1`` of every ``def`` and ``async def`` (methods
and nested functions too), from the ``def`` line to its last line: decorators are left out, docstrings and
comments inside count. 80 lines is about a screen: a longer function is doing several things that want names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.core.test_package_layers import describe_cycles, find_cycles, import_statements, write_source

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "pgssl_core"
MAX_FUNCTION_LINES = 80


def _module_names(package_dir: Path) -> dict[str, Path]:
    """``{"pgssl_core.catalog": .../catalog/__init__.py, "pgssl_core.catalog.project": ..., ...}``."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def module_edges(package_dir: Path = PACKAGE_DIR) -> dict[tuple[str, str], list[str]]:
    """Import edges between modules of the package (see the module docstring for what counts).

    Args:
        package_dir: the ``pgssl_core`` source folder.

    Returns:
        ``{(importer, imported): ["catalog/project.py:31", ...]}`` with dotted module names; imports of modules
        outside the package and of a module by itself are left out.
    """
    modules = _module_names(package_dir)
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in modules.items():
        for module, names, line in import_statements(path, package_dir):
            for target in (module, *(f"{module}.{n}" for n in names)):
                if target in modules and target != name:
                    edges.setdefault((name, target), []).append(f"{path.relative_to(package_dir)}:{line}")
    return edges


def long_functions(package_dir: Path = PACKAGE_DIR, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``"train/rounds.py:40 run_training (97 lines)"`` for every function longer than ``limit`` lines."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(package_dir)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_pgssl_core_modules_form_no_import_cycle() -> None:
    edges = module_edges()
    assert len(edges) > 50, "few imports between pgssl_core modules were found: the checker is not reading the source"
    groups = find_cycles(edges)
    assert not groups, describe_cycles(groups, edges, "pgssl_core modules")


def test_no_function_in_pgssl_core_is_over_80_lines() -> None:
    found = long_functions()
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n  " + "\n  ".join(found)


def _toy_package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A ``pgssl_core`` folder under ``tmp_path`` holding ``files`` (relative path -> source) and its ``__init__``."""
    pkg = tmp_path / "pgssl_core"
    for rel, text in {"__init__.py": "", **files}.items():
        write_source(pkg, rel, text)
    return pkg


def test_checker_sees_lazy_typing_and_package_cycles(tmp_path: Path) -> None:
    pkg = _toy_package(tmp_path, {
        # a package whose __init__ re-exports a submodule that reads the package's namespace
        "cat/__init__.py": "from pgssl_core.cat.proj import Project\n",
        "cat/proj.py": "from pgssl_core.cat import labels as L\nfrom pgssl_core.cat.layout import X\n",
        "cat/labels.py": "",
        "cat/layout.py": "X = 1\n",
        # a lazy import one way, a TYPE_CHECKING one the other
        "tr/__init__.py": "",
        "tr/profiles.py": "def check():\n    from .tasks import TASKS\n    return TASKS\n",
        "tr/tasks.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                       "    from pgssl_core.tr.profiles import Profile\nTASKS = {}\n",
    })
    edges = module_edges(pkg)
    assert edges[("pgssl_core.cat.proj", "pgssl_core.cat")] == ["cat/proj.py:1"]
    assert edges[("pgssl_core.cat.proj", "pgssl_core.cat.labels")] == ["cat/proj.py:1"]
    assert ("pgssl_core.cat.layout", "pgssl_core.cat") not in edges  # parent packages are not edges
    assert find_cycles(edges) == [["pgssl_core.cat", "pgssl_core.cat.proj"],
                                  ["pgssl_core.tr.profiles", "pgssl_core.tr.tasks"]]
    text = describe_cycles(find_cycles(edges), edges, "pgssl_core modules")
    assert "pgssl_core.tr.profiles -> pgssl_core.tr.tasks: tr/profiles.py:2" in text
    assert "pgssl_core.tr.tasks -> pgssl_core.tr.profiles: tr/tasks.py:3" in text


@pytest.mark.parametrize(("proj", "cycles"), [
    # `from . import labels` inside cat/proj.py reads the package cat, whose __init__ imports proj: a cycle
    ("from pgssl_core.cat.layout import X\nfrom . import labels\nProject = X\n",
     [["pgssl_core.cat", "pgssl_core.cat.proj"]]),
    # the same modules named by their own paths: no edge to the package, no cycle
    ("from pgssl_core.cat.layout import X\nfrom pgssl_core.cat.labels import *\nProject = X\n", []),
])
def test_checker_tells_a_package_import_from_a_submodule_import(tmp_path: Path, proj: str,
                                                                cycles: list[list[str]]) -> None:
    pkg = _toy_package(tmp_path, {"cat/__init__.py": "from .proj import Project\n", "cat/proj.py": proj,
                                  "cat/layout.py": "import os\n", "cat/labels.py": ""})
    assert find_cycles(module_edges(pkg)) == cycles


def test_checker_measures_functions_from_def_to_last_line(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(79))
    method_body = body.replace("    x", "        x")
    pkg = _toy_package(tmp_path, {
        "short.py": f"@property\n@staticmethod\ndef f():\n{body}\n",  # 80 lines with the def
        "long.py": f"class A:\n    async def g(self):\n{method_body}\n        return 1\n",
    })
    assert long_functions(pkg) == ["long.py:2 g (81 lines)"]
