"""The app's modules import each other in one direction: no cycle, even through a deferred import."""
from __future__ import annotations

import ast
from pathlib import Path

import badges

APP = Path(badges.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the app's modules it imports anywhere in its body (a package's own submodules aside)."""
    modules = {module_name(path): path for path in APP.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {m for m in imported & set(modules) if m != name and not m.startswith(f"{name}.")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            if cycle := visit(target, [*path, node]):
                return cycle
        done.add(node)
        return None

    return next((cycle for start in sorted(graph) if (cycle := visit(start, []))), None)


def test_no_import_cycle_between_badges_modules():
    graph = import_graph()
    assert graph["badges.engine"], "the scan found no imports: it no longer matches the code"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))
