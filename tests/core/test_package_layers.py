"""The subpackages of ``pgssl_core`` form a layered graph: no import cycle between them, imports only go down.

Every module under ``pgssl_core`` is parsed with :mod:`ast`, and every ``import`` in it counts, at module level
and inside functions (a lazy import is still a dependency: it only hides the cycle from the interpreter until
the function runs). Each import is reduced to an edge between top-level parts, ``pgssl_core.<part>`` (a
subpackage such as ``assess`` or a top-level module such as ``errors``). ``TYPE_CHECKING`` imports count too: a
type annotation that crosses layers upward is a dependency of the reader.

Two checks: the graph has no cycle (the failure names every edge of each cycle), and every edge goes to a
lower layer of :data:`LAYERS`, the table docs/ARCHITECTURE.md shows (so the stages ``train``, ``infer`` and
``assess`` never import one another: a step that needs two of them belongs in ``project``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "pgssl_core"

#: The layers of pgssl_core, lowest first (docs/ARCHITECTURE.md, "Layers"): a part imports only parts of lower
#: layers. A new subpackage or top-level module gets its place here and in that document.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("io", "shipped", "distributed", "machine_lock"),
    ("background", "tiles", "models"),
    ("catalog",),
    ("demo", "xyz", "uploads", "labeling"),
    ("train", "infer", "assess"),
    ("project",),
    ("report",),
    ("cli",),
    ("__main__",),
)


def _part_of(module_path: Path, package_dir: Path) -> str:
    """The top-level part of ``pgssl_core`` a source file belongs to (``assess`` for ``assess/footprints.py``)."""
    rel = module_path.relative_to(package_dir)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def import_statements(module_path: Path, package_dir: Path) -> Iterator[tuple[str, list[str], int]]:
    """Every import of a file, anywhere in it: ``(module, names, line)`` with relative imports resolved.

    ``import a.b`` gives ``("a.b", [], line)``; ``from a.b import c, d`` gives ``("a.b", ["c", "d"], line)``;
    ``from . import c`` in ``pgssl_core/high/b.py`` gives ``("pgssl_core.high", ["c"], line)``.
    """
    rel = module_path.relative_to(package_dir.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a level-1 relative import starts from (also for __init__)
    tree = ast.parse(module_path.read_text(encoding="utf-8"), filename=str(module_path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            yield prefix, [alias.name for alias in node.names], node.lineno


def _imported_modules(module_path: Path, package_dir: Path) -> Iterator[tuple[str, int]]:
    """Absolute dotted names each import of a file refers to, with its line (relative imports resolved)."""
    for module, names, line in import_statements(module_path, package_dir):
        # `from pgssl_core import assess` names a subpackage in the imported names, not in `module`.
        if module == "pgssl_core" and names:
            for name in names:
                yield f"pgssl_core.{name}", line
        else:
            yield module, line


def package_edges(package_dir: Path = PACKAGE_DIR) -> dict[tuple[str, str], list[str]]:
    """Edges between top-level parts of the package, each with the ``file:line`` imports that make it.

    Args:
        package_dir: the ``pgssl_core`` source folder.

    Returns:
        ``{(importer_part, imported_part): ["assess/model_error.py:12", ...]}``; imports within one part and of
        modules outside ``pgssl_core`` are left out.
    """
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        src = _part_of(path, package_dir)
        for name, line in _imported_modules(path, package_dir):
            parts = name.split(".")
            if parts[0] != "pgssl_core" or len(parts) < 2:
                continue
            dst = parts[1]
            if dst != src:
                edges.setdefault((src, dst), []).append(f"{path.relative_to(package_dir)}:{line}")
    return edges


def find_cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan's algorithm), each sorted.

    Args:
        edges: the graph from :func:`package_edges`.

    Returns:
        One sorted list of part names per cycle group; empty when the graph is a DAG.
    """
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)
        graph.setdefault(dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def describe_cycles(groups: list[list[str]], edges: dict[tuple[str, str], list[str]],
                    what: str = "pgssl_core packages") -> str:
    """One paragraph per cycle group: its nodes, then every edge inside it with the imports that make it."""
    lines = []
    for group in groups:
        lines.append(f"import cycle between {what} {', '.join(group)}:")
        for (src, dst), where in sorted(edges.items()):
            if src in group and dst in group:
                lines.append(f"  {src} -> {dst}: {', '.join(where)}")
    return "\n".join(lines)


def test_pgssl_core_packages_form_no_import_cycle() -> None:
    edges = package_edges()
    assert edges, "no imports between pgssl_core packages were found: the checker is not reading the source"
    groups = find_cycles(edges)
    assert not groups, describe_cycles(groups, edges)


def layer_violations(edges: dict[tuple[str, str], list[str]],
                     layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """One line per edge that does not go to a lower layer, or that involves a part no layer lists.

    Args:
        edges: the graph from :func:`package_edges`.
        layers: the layer table, lowest first.

    Returns:
        Lines such as ``"assess (layer 5) -> infer (layer 5): assess/footprints.py:97"``; empty when all is well.
    """
    level = {part: i for i, layer in enumerate(layers) for part in layer}
    lines = []
    for (src, dst), where in sorted(edges.items()):
        for part in (src, dst):
            if part not in level:
                lines.append(f"pgssl_core.{part} is in no layer of LAYERS (imported at {', '.join(where)}): "
                             "give it its place there and in docs/ARCHITECTURE.md")
        if src in level and dst in level and level[dst] >= level[src]:
            lines.append(f"{src} (layer {level[src]}) -> {dst} (layer {level[dst]}): {', '.join(where)}")
    return sorted(set(lines))


def test_pgssl_core_imports_only_go_down_the_layers() -> None:
    edges = package_edges()
    parts = {_part_of(p, PACKAGE_DIR) for p in PACKAGE_DIR.rglob("*.py")} - {"__init__"}
    unplaced = parts - {part for layer in LAYERS for part in layer}
    assert not unplaced, f"parts of pgssl_core in no layer of LAYERS: {sorted(unplaced)}"
    violations = layer_violations(edges)
    assert not violations, "imports that do not go down the layers:\n  " + "\n  ".join(violations)


def write_source(root: Path, rel: str, text: str) -> None:
    """Write ``text`` to ``root/rel``, making its folders (toy packages for the checkers' own tests)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_checker_sees_a_function_level_and_relative_import_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pgssl_core"
    write_source(pkg, "__init__.py", "")
    write_source(pkg, "low/__init__.py", "")
    write_source(pkg, "low/a.py", "def f():\n    from ..high.b import g\n    return g\n")
    write_source(pkg, "high/__init__.py", "")
    write_source(pkg, "high/b.py", "from pgssl_core.low import a\nfrom . import c\n")
    write_source(pkg, "high/c.py", "")
    write_source(pkg, "errors.py", "")
    write_source(pkg, "high/d.py", "from pgssl_core import errors\n")
    edges = package_edges(pkg)
    assert edges == {("low", "high"): ["low/a.py:2"], ("high", "low"): ["high/b.py:1"],
                     ("high", "errors"): ["high/d.py:1"]}
    groups = find_cycles(edges)
    assert groups == [["high", "low"]]
    assert "low -> high: low/a.py:2" in describe_cycles(groups, edges)
    down = (("errors",), ("low",), ("high",))
    assert layer_violations(edges, down) == ["low (layer 1) -> high (layer 2): low/a.py:2"]
    assert layer_violations(edges, (("low", "high"),)) == [
        "high (layer 0) -> low (layer 0): high/b.py:1", "low (layer 0) -> high (layer 0): low/a.py:2",
        "pgssl_core.errors is in no layer of LAYERS (imported at high/d.py:1): give it its place there and in "
        "docs/ARCHITECTURE.md"]


@pytest.mark.parametrize("edges", [{}, {("a", "b"): ["x"], ("b", "c"): ["y"], ("a", "c"): ["z"]}])
def test_checker_accepts_a_dag(edges: dict[tuple[str, str], list[str]]) -> None:
    assert find_cycles(edges) == []
