"""MBPP-train through the sandbox API: every reference solution passes its tests, and a mutated copy of each
(every returned value changed: numbers off by one, booleans flipped, sequences one item longer) fails.

Reads ``<repo>/../shared/fixtures/code/mbpp_train.jsonl`` (474 tasks; see the fixture README) and skips when
it is absent. Task 927 needs its setup code run after the solution, which the sandbox does, so it is
included.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import pytest

from dataflow.sandbox import Job, Limits, Sandbox

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


@pytest.fixture(scope="module")
def tasks() -> list[dict]:
    if not MBPP.exists():
        pytest.skip(f"MBPP fixture absent: {MBPP} (shared fixtures not mounted)")
    with MBPP.open() as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def mbpp_box():
    with Sandbox(Limits(timeout=10, memory_mb=1024)) as box:
        yield box


def test_reference_solutions_pass(tasks, mbpp_box):
    results = mbpp_box.run_many(Job(t["code"], t["test_list"], setup=t["test_setup_code"]) for t in tasks)
    failed = {t["task_id"]: (r.status, r.log[:300]) for t, r in zip(tasks, results) if r.status != "pass"}
    assert len(tasks) == 474
    assert failed == {}


def test_mutated_solutions_fail(tasks, mbpp_box):
    results = mbpp_box.run_many(Job(mutate(t["code"], t["test_list"]), t["test_list"], setup=t["test_setup_code"])
                                for t in tasks)
    passed = [t["task_id"] for t, r in zip(tasks, results) if r.status == "pass"]
    assert passed == []
    statuses = {r.status for r in results}
    assert statuses <= {"fail", "error", "timeout"}
    # A changed return value mostly trips an assertion, and the log names the assertion.
    fails = [r for r in results if r.status == "fail"]
    assert len(fails) > len(results) // 2
    assert all(r.log.startswith("test ") and "assert" in r.log for r in fails)


def test_mutation_changes_what_a_function_returns(mbpp_box):
    code = "def helper(n):\n    return n\ndef f(n):\n    def inner():\n        return 0\n    return helper(n) * 2\n"
    mutated = mutate(code, ["assert f(3) == 6"])
    ex = mbpp_box.run(mutated, ["assert f(3) == 7", "assert helper(3) == 3", "assert inner_left_alone()"],
                      setup="def inner_left_alone():\n    return True")
    assert ex.status == "pass", ex.log
    assert "return __perturb(helper(n) * 2)" in mutated and "return 0" in mutated
