"""MBPP-train tasks and their mutants, shared by the sandbox tests and the code operator tests.

``load_mbpp()`` reads ``<repo>/../shared/fixtures/code/mbpp_train.jsonl`` (474 tasks; see the fixture README)
and skips the calling test when it is absent. ``mutate(code, tests)`` changes every value returned by the
function the tests call (numbers off by one, booleans flipped, sequences one item longer), so a correct
solution becomes a wrong one of the same shape.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import pytest

MBPP = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "code" / "mbpp_train.jsonl"

# Applied to every value a function returns: the result changes but keeps its type where it can.
PERTURB = '''
def __perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, complex):
        return value + 1j
    if isinstance(value, str):
        return value + "~"
    if isinstance(value, (list, tuple)):
        return value + type(value)([None])
    if isinstance(value, set):
        return value | {object()}
    if isinstance(value, dict):
        return {**value, object(): None}
    if value is None:
        return 1
    return object()
'''


class _ChangeReturns(ast.NodeTransformer):
    """Changes the returns of one function, not those of the helpers it calls (two changes could cancel)."""

    def visit_Return(self, node: ast.Return) -> ast.Return:
        value = node.value or ast.Constant(None)
        call = ast.Call(ast.Name("__perturb", ast.Load()), [value], [])
        return ast.copy_location(ast.Return(call), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node  # a nested function: leave it alone

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef


def function_under_test(tree: ast.Module, tests: list[str]) -> str:
    """The top-level function the tests call (MBPP tests call one)."""
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for test in tests:
        for node in ast.walk(ast.parse(test)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined:
                return node.func.id
    raise ValueError("the tests call no top-level function of the code")


def mutate(code: str, tests: list[str]) -> str:
    with warnings.catch_warnings():  # some solutions have invalid escape sequences in plain strings
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(code)
    name = function_under_test(tree, tests)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            node.body = [_ChangeReturns().visit(statement) for statement in node.body]
    return PERTURB + ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def load_mbpp() -> list[dict]:
    """The 474 MBPP-train tasks (``task_id``, ``text``, ``code``, ``test_list``, ``test_setup_code``, ...)."""
    if not MBPP.exists():
        pytest.skip(f"MBPP fixture absent: {MBPP} (shared fixtures not mounted)")
    with MBPP.open() as f:
        return [json.loads(line) for line in f]
