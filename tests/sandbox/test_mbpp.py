"""MBPP-train through the sandbox API: every reference solution passes its tests, and a mutated copy of each
(every returned value changed: numbers off by one, booleans flipped, sequences one item longer) fails.

Reads ``<repo>/../shared/fixtures/code/mbpp_train.jsonl`` (474 tasks; see the fixture README; the loader and
the mutation live in ``mbpp_tasks.py``) and skips when it is absent. Task 927 needs its setup code run after
the solution, which the sandbox does, so it is included.
"""

from __future__ import annotations

import pytest

from dataflow.sandbox import Job, Limits, Sandbox
from tests.sandbox.mbpp_tasks import load_mbpp, mutate


@pytest.fixture(scope="module")
def tasks() -> list[dict]:
    return load_mbpp()


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
