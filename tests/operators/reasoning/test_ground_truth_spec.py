"""Acceptance: ReasoningAnswerGroundTruthFilter, as a step of a YAML spec run by the real engine, judges
every labelled answer pair built from the shared math fixtures correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataflow.core.pipeline import Pipeline
from dataflow.core.run_inspector import RunInspector
from tests.lib.math_answers.answer_pairs import build_answer_pairs, fixtures_available

SPEC = """\
name: answer_pairs
input: pairs.jsonl
output: kept.jsonl
cache_dir: cache
steps:
  - op: ReasoningAnswerGroundTruthFilter
    params: {keep_without_gold: false}
    run: {input_key: candidate, input_gold_key: gold, output_key: judged_equivalent}
"""


def test_ground_truth_filter_judges_all_fixture_pairs_in_a_yaml_spec(tmp_path: Path) -> None:
    if not fixtures_available():
        pytest.skip("../shared/fixtures/math is not available")
    pairs = build_answer_pairs()
    assert len(pairs) >= 200
    with open(tmp_path / "pairs.jsonl", "w", encoding="utf-8") as fh:
        for k, (gold, candidate, expected) in enumerate(pairs):
            fh.write(json.dumps({"pair": k, "gold": gold, "candidate": candidate, "expected": expected}) + "\n")
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")

    summary = Pipeline.from_spec(tmp_path / "spec.yaml").run()

    kept = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text("utf-8").splitlines()]
    dropped = list(RunInspector(tmp_path / "cache").dropped())
    wrongly_kept = [(r["gold"], r["candidate"]) for r in kept if not r["expected"]]
    wrongly_dropped = [(d["record"]["gold"], d["record"]["candidate"], d["reason"])
                       for d in dropped if d["record"]["expected"]]
    assert wrongly_kept == [] and wrongly_dropped == []
    assert len(kept) + len(dropped) == len(pairs)
    assert {r["pair"] for r in kept} == {k for k, (_, _, expected) in enumerate(pairs) if expected}
    assert all(r["judged_equivalent"] is True for r in kept)
    for d in dropped:  # every drop names the two answers
        candidate, gold = d["record"]["candidate"], d["record"]["gold"]
        assert d["reason"] == f"answer {' '.join(candidate.split())} != gold {' '.join(gold.split())}"
    step = summary["steps"][0]
    assert step["rows_in"] == len(pairs) and step["rows_out"] == len(kept)
    assert sum(step["dropped"].values()) == len(dropped)
