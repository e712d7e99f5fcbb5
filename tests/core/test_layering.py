"""The core stands on its own: it imports no serving, executor or operator module, and its modules form
no import cycle (a cycle is how a core grows back into one big module)."""

from __future__ import annotations

import ast
from pathlib import Path

import dataflow

CORE = Path(dataflow.__file__).parent / "core"
FORBIDDEN = ("dataflow.serving", "dataflow.executors", "dataflow.operators", "dataflow.pipelines",
             "dataflow.cli")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth, except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _core_modules() -> dict[str, Path]:
    return {f"dataflow.core.{p.stem}": p for p in CORE.glob("*.py") if p.stem != "__init__"}


def test_core_imports_no_serving_executors_or_operators():
    offenders = {name: sorted(m for m in _imports(path) if m.startswith(FORBIDDEN))
                 for name, path in _core_modules().items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_modules_form_no_import_cycle():
    modules = _core_modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            assert walk(name) is None, f"import cycle: {' -> '.join(stack)}"


def test_the_layering_check_sees_lazy_imports(tmp_path):
    """The checker itself: an import inside a function counts, one under TYPE_CHECKING does not."""
    src = tmp_path / "m.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import dataflow.operators\n"
                   "def f():\n    from dataflow.serving import create_serving\n")
    assert "dataflow.serving" in _imports(src) and "dataflow.operators" not in _imports(src)
