"""CodeSandboxSampleEvaluator and CodeTestPassFilter: statuses, logs, reasons, rejects, limits, and a spec
whose ``sandbox:`` configures the resource the pool builds and closes."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from dataflow.core.errors import CompileError
from dataflow.core.pipeline import Pipeline
from dataflow.operators.code.sandbox_execution import CodeSandboxSampleEvaluator, CodeTestPassFilter, as_tests
from dataflow.sandbox import Limits, Sandbox
from dataflow.testing import run_operator
from tests.sandbox.conftest import descendants

ADD = "def add(a, b):\n    return a + b\n"
ROWS = [
    {"id": "pass", "code": ADD, "test": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]},
    {"id": "fail", "code": ADD, "test": "assert add(1, 2) == 3\nassert add(2, 2) == 5\n"},
    {"id": "error", "code": ADD, "test": ["assert add(1) == 1"]},
    {"id": "syntax", "code": "def add(a, b)\n    return a + b\n", "test": ["assert add(1, 2) == 3"]},
    {"id": "timeout", "code": "def add(a, b):\n    while True:\n        pass\n", "test": ["assert add(1, 2) == 3"]},
    {"id": "memory", "code": "def add(a, b):\n    return len(bytearray(400 << 20))\n",
     "test": ["assert add(1, 2) == 3"]},
]


class Forbidden:
    """A sandbox that must not be used."""

    def __getattr__(self, name):
        raise AssertionError(f"sandbox.{name} used")


@pytest.fixture(scope="module")
def box():
    with Sandbox(Limits(timeout=5), workers=2) as sandbox:
        yield sandbox


def test_evaluator_records_each_outcome_with_its_log(box):
    result = run_operator(CodeSandboxSampleEvaluator(timeout=2, memory_mb=256, sandbox=box), ROWS)
    assert result.written == ["sandbox_status", "sandbox_log"] and result.rejected == [] and not result.errors
    by_id = {r["id"]: r for r in result.kept}
    assert {k: r["sandbox_status"] for k, r in by_id.items()} == {
        "pass": "pass", "fail": "fail", "error": "error", "syntax": "error", "timeout": "timeout",
        "memory": "memory"}
    assert by_id["pass"]["sandbox_log"] == ""
    # A text of assert lines is split into them: the log names the failing one and its left side.
    assert by_id["fail"]["sandbox_log"] == "test 2 failed: assert add(2, 2) == 5\n  left side was: 4"
    assert by_id["error"]["sandbox_log"].startswith("TypeError during test 1")
    assert "SyntaxError" in by_id["syntax"]["sandbox_log"]
    assert "limit of 2 s" in by_id["timeout"]["sandbox_log"]  # the op's timeout, not the sandbox's 5 s


def test_setup_runs_between_code_and_tests_and_array_tests_are_read(box):
    rows = [{"code": "class Node:\n    def __init__(self, v):\n        self.v = v\n",
             "setup": "root = Node(7)", "test": np.array(["assert root.v == 7", "assert root.v + 1 == 8"])},
            {"code": "class Node:\n    pass\n", "setup": "root = Node(7)", "test": np.array(["assert True"])}]
    result = run_operator(CodeSandboxSampleEvaluator(sandbox=box), rows, input_setup_key="setup")
    assert [r["sandbox_status"] for r in result.kept] == ["pass", "error"]
    assert result.kept[1]["sandbox_log"].startswith("TypeError during setup")


def test_rows_without_code_or_tests_are_rejected_without_starting_a_sandbox():
    rows = [{"code": "", "test": ["assert True"]}, {"code": None, "test": "assert True"},
            {"code": ADD, "test": None}, {"code": ADD, "test": "  \n"}, {"code": ADD, "test": []}]
    for op in (CodeSandboxSampleEvaluator(sandbox=Forbidden()), CodeTestPassFilter(sandbox=Forbidden())):
        result = run_operator(op, rows)
        assert result.reject_reasons == ["no code", "no code", "no tests", "no tests", "no tests"]
        assert result.kept == [] and result.dropped == [] and not result.errors
        assert run_operator(op, []).kept == []


def test_filter_keeps_passing_rows_and_names_the_failure(box):
    result = run_operator(CodeTestPassFilter(timeout=2, memory_mb=256, sandbox=box), ROWS)
    assert [r["id"] for r in result.kept] == ["pass"]
    assert result.kept[0]["sandbox_status"] == "pass"
    reasons = dict(zip([r["id"] for r in result.dropped], result.drop_reasons))
    assert reasons["fail"] == "tests fail: test 2 failed: assert add(2, 2) == 5"
    assert reasons["error"] == "tests error: TypeError during test 1"
    # A busy loop meets the CPU-time limit and the wall clock at about the same moment: either may fire.
    assert reasons["timeout"] in ("tests timeout: wall-clock limit of 2 s reached; killed",
                                  "tests timeout: CPU-time limit reached (killed by signal 24)")
    assert reasons["memory"].startswith("tests memory: ")
    assert [r["sandbox_status"] for r in result.dropped] == ["fail", "error", "error", "timeout", "memory"]


def test_text_tests_are_split_only_when_all_are_asserts():
    assert as_tests("assert f(1) == 2\n\nassert (\n    f(2) == 3\n)\n") == ["assert f(1) == 2",
                                                                         "assert (\n    f(2) == 3\n)"]
    block = "def check(c):\n    assert c(1) == 2\ncheck(f)\n"
    assert as_tests(block) == block
    assert as_tests("assert f(1) ==") == "assert f(1) =="  # the sandbox reports the syntax error
    assert as_tests(("assert a", "", "assert b")) == ["assert a", "assert b"]
    assert as_tests(None) is None and as_tests([" "]) is None


SPEC = """\
name: sandbox_spec
input: rows.jsonl
output: kept.jsonl
cache_dir: cache
sandbox: {sandbox}
steps:
  - op: CodeSandboxSampleEvaluator
    params: {{timeout: 2}}
  - op: ExactDeduplicateFilter
    run: {{input_key: code}}
  - op: CodeTestPassFilter
    params: {{timeout: 2}}
    run: {{output_status_key: status_again, output_log_key: log_again}}
"""


def write_spec(tmp_path: Path, sandbox: str) -> Path:
    rows = [{"id": i, "code": f"def f():\n    return {i}\n", "test": f"assert f() == {i % 2}"} for i in range(4)]
    if not (tmp_path / "rows.jsonl").exists():  # rewritten, the input would count as changed
        (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(SPEC.format(sandbox=sandbox), encoding="utf-8")
    return tmp_path / "spec.yaml"


def test_a_spec_configures_the_sandbox_and_the_run_closes_it(tmp_path):
    pattern = os.path.join(tempfile.gettempdir(), "dataflow-sandbox-*")
    processes, folders = descendants(os.getpid()), set(glob.glob(pattern))
    summary = Pipeline.from_spec(write_spec(tmp_path, "{workers: 2, memory_mb: 256}")).run()
    kept = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text("utf-8").splitlines()]
    assert [(r["id"], r["sandbox_status"], r["status_again"]) for r in kept] == [(0, "pass", "pass"),
                                                                                 (1, "pass", "pass")]
    assert summary["steps"][2]["dropped"] == {"tests fail: test 1 failed: assert f() == 0": 1,
                                              "tests fail: test 1 failed: assert f() == 1": 1}
    # The pool built the sandbox and closed it: its workers and its folder are gone.
    assert descendants(os.getpid()) - processes == set()
    assert set(glob.glob(pattern)) == folders


def test_the_sandbox_config_is_checked_and_fingerprinted(tmp_path):
    with pytest.raises(CompileError, match="needs a sandbox, but unknown sandbox setting.s. timout"):
        Pipeline.from_spec(write_spec(tmp_path, "{timout: 3}")).compile()

    def fingerprints(sandbox: str) -> list[str]:
        return [s.fingerprint for s in Pipeline.from_spec(write_spec(tmp_path, sandbox)).compile().steps]

    base = fingerprints("{workers: 1, memory_mb: 256}")
    assert fingerprints("{workers: 2, memory_mb: 256}") == base  # how many workers changes no outcome
    assert fingerprints("{workers: 1, memory_mb: 256, network_isolation: false}")[0] != base[0]
    assert fingerprints("{workers: 1, memory_mb: 256, processes: 8}")[0] != base[0]
