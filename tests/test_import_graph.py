"""app/pipeline's modules import each other without a cycle, counting imports inside functions
(a lazy import hides a cycle from Python, not from a reader)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "app" / "pipeline"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """The app.pipeline modules `path` imports anywhere in its body (TYPE_CHECKING blocks aside)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and ast.unparse(node.test).endswith("TYPE_CHECKING") for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from . import jobs` names a module
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    paths = sorted(PIPELINE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imports(p, known) - {"app.pipeline"} for p in paths}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first walk (each reported once, from its smallest name)."""
    found: set[tuple[str, ...]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in edges.get(node, ()):
            if nxt == start:
                found.add(tuple(path))
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for start in edges:
        walk(start, start, [start])
    return [list(c) for c in sorted(found)]


def test_the_walk_sees_lazy_imports_and_finds_a_cycle():
    assert "app.pipeline.events" in graph()["app.pipeline.runner"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_app_pipeline_has_no_import_cycle():
    assert cycles(graph()) == []


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_format_level_export_knows_neither_the_project_nor_the_cloud():
    edges = graph()
    for module in ("app.pipeline.export", "app.pipeline.compress.compress_ply", "app.pipeline.formats.ply"):
        below = reachable(edges, module)
        assert "app.pipeline.project" not in below, module
        assert not {m for m in below if m.startswith("app.pipeline.cloud")}, module
