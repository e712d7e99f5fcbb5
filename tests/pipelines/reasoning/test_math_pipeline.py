"""The math reasoning pipeline: wiring (fast), a tiny real-model run, and the 20-seed GSM8K acceptance run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from dataflow.core.pipeline import Pipeline
from dataflow.core.run_inspector import RunInspector
from dataflow.lib.math_answers import answers_equivalent
from dataflow.pipelines.reasoning.math_pipeline import SPEC_PATH, MathReasoningPipeline

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
GSM8K_TRAIN = FIXTURES / "math" / "gsm8k" / "train.jsonl"

# Hand-written seeds and benchmark questions (no fixture data in the repository).
SEEDS = [
    {"question": "A baker makes 12 muffins in the morning and 15 in the afternoon. She sells 20. "
                 "How many muffins are left?", "answer": "12 + 15 = 27, 27 - 20 = 7\n#### 7"},
    {"question": "Sam reads 9 pages a day for 6 days. How many pages does he read in total?",
     "answer": "9 * 6 = 54\n#### 54"},
]
BENCHMARK = [{"question": "A farmer has 14 goats and sells 5 of them at the market on Monday. "
                          "How many goats does the farmer have left?"}]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _yaml_spec(tmp_path: Path, seeds: Path, bench: Path, **overrides) -> dict:
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    spec.update(input=str(seeds), output=str(tmp_path / "out.jsonl"), cache_dir=str(tmp_path / "cache"))
    for step in spec["steps"]:
        if step["op"] == "ReasoningAnswerNgramFilter":
            step["params"]["benchmark_path"] = str(bench)
    spec.update(overrides)
    return spec


def test_python_and_yaml_pipelines_compile_to_the_same_steps(tmp_path: Path) -> None:
    seeds = _write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    bench = _write_jsonl(tmp_path / "bench.jsonl", BENCHMARK)
    python_plan = MathReasoningPipeline(seeds, tmp_path / "out.jsonl", benchmark_path=bench).compile()
    yaml_plan = Pipeline.from_spec(_yaml_spec(tmp_path, seeds, bench)).compile()
    assert not python_plan.errors and not yaml_plan.errors

    def shape(plan):
        return [(s.op.op_name(), {k: v for k, v in s.bindings.items() if v is not None}) for s in plan.steps]

    assert shape(python_plan) == shape(yaml_plan)
    assert [name for name, _ in shape(python_plan)] == [
        "ReasoningAnswerExtractionGenerator", "ReasoningQuestionFilter", "ReasoningQuestionGenerator",
        "ReasoningQuestionFilter", "ReasoningQuestionDifficultySampleEvaluator",
        "ReasoningQuestionCategorySampleEvaluator", "ReasoningAnswerGenerator",
        "ReasoningAnswerExtractionGenerator", "ReasoningAnswerFormatterFilter",
        "ReasoningAnswerTokenLengthFilter", "ReasoningAnswerGroundTruthFilter",
        "ReasoningPseudoAnswerGenerator", "ReasoningAnswerNgramFilter"]
    # Wiring errors are caught before any model call: a seed file without the gold solution column.
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"question": "What is 1 + 1?"}])
    with pytest.raises(Exception, match="answer"):
        MathReasoningPipeline(bad, tmp_path / "out.jsonl", benchmark_path=bench).compile()
    # ... which is fine when told there is none: every row is then verified by vote.
    assert not MathReasoningPipeline(bad, tmp_path / "o.jsonl", gold_solution_key=None).compile().errors


def check_run(tmp_path: Path, summary: dict) -> dict:
    """Assert the guarantees of a finished run; return the numbers worth reporting."""
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines() if line]
    for row in out:
        assert row["instruction"] and row["output"] and row["final_answer"], row
        if row["question_source"] == "seed":
            assert row["gold_match"] is True
            assert answers_equivalent(row["final_answer"], row["gold_answer"]), row
        else:
            assert row["gold_answer"] is None and row["question"] is None
            assert row["pseudo_answer_agreement"] >= 0.6
            assert answers_equivalent(row["final_answer"], row["pseudo_answer"]), row
        assert 1 <= row["question_difficulty"] <= 10 and row["question_category"]
    inspector = RunInspector(summary["cache_dir"])
    dropped = list(inspector.dropped())
    rejects = list(inspector.rejects())
    assert all(d["reason"] for d in dropped)
    assert all(r["reason"] for r in rejects), rejects[:3]
    run_json = json.loads((Path(summary["cache_dir"]) / "run.json").read_text())
    steps = run_json["steps"]
    assert len(steps) == 13
    for before, after in zip(steps, steps[1:]):
        assert after["rows_in"] == before["rows_out"]
    for step in steps:
        if step["op"] not in ("ReasoningQuestionGenerator",):  # only the generator adds rows
            assert step["rows_out"] == step["rows_in"] - sum(step["dropped"].values()) - step["rejected"]
    assert steps[-1]["rows_out"] == len(out)
    return {"kept": len(out), "seed_rows_kept": sum(r["question_source"] == "seed" for r in out),
            "generated_rows_kept": sum(r["question_source"] == "generated" for r in out),
            "steps": [(s["index"], s["op"], s["rows_in"], s["rows_out"], dict(s["dropped"]), s["rejected"],
                       s["seconds"]) for s in steps]}


def _report(label: str, numbers: dict) -> None:
    print(f"\n{label}: kept {numbers['kept']} ({numbers['seed_rows_kept']} seed, "
          f"{numbers['generated_rows_kept']} generated)")
    for index, op, rows_in, rows_out, dropped, rejected, seconds in numbers["steps"]:
        print(f"  {index:2d} {op:45s} {rows_in:3d} -> {rows_out:3d}  rejected {rejected}  {seconds:7.1f}s  "
              f"{dropped}")


def _fresh_llm_cache(tmp_path: Path) -> dict:
    # A private response cache: the run really calls the model instead of replaying an earlier run.
    return {"backend": "embedded", "cache": str(tmp_path / "llm_cache.sqlite")}


@pytest.mark.llm
@pytest.mark.slow
def test_tiny_run_on_the_embedded_model(tmp_path: Path) -> None:
    seeds = _write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    bench = _write_jsonl(tmp_path / "bench.jsonl", BENCHMARK)
    pipeline = MathReasoningPipeline(seeds, tmp_path / "out.jsonl", benchmark_path=bench, answer_max_tokens=160,
                                     max_answer_tokens=160, n_vote_samples=1, min_agreement=0.5,
                                     cache_dir=tmp_path / "cache", serving=_fresh_llm_cache(tmp_path))
    numbers = check_run(tmp_path, pipeline.run())
    _report("tiny run", numbers)


@pytest.mark.llm
@pytest.mark.slow
def test_gsm8k_20_seeds_acceptance_run(tmp_path: Path) -> None:
    if not GSM8K_TRAIN.is_file():
        pytest.skip("../shared/fixtures/math/gsm8k/train.jsonl is not available")
    n_seeds = int(os.environ.get("DATAFLOW_MATH_SEEDS", "20"))
    lines = GSM8K_TRAIN.read_text("utf-8").splitlines()[:n_seeds]
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Decontaminate against SVAMP when present, plus one hand-written question.
    svamp = FIXTURES / "math" / "svamp" / "test.jsonl"
    bench = _write_jsonl(tmp_path / "bench.jsonl", BENCHMARK + (
        [{"question": json.loads(x)["Body"] + " " + json.loads(x)["Question"]}
         for x in svamp.read_text("utf-8").splitlines()] if svamp.is_file() else []))
    spec = _yaml_spec(tmp_path, seeds, bench, serving=_fresh_llm_cache(tmp_path))
    summary = Pipeline.from_spec(spec).run()
    numbers = check_run(tmp_path, summary)
    _report(f"GSM8K acceptance ({n_seeds} seeds, {summary['totals']['seconds']:.0f}s)", numbers)
    assert summary["steps"][0]["rows_in"] == n_seeds
    assert numbers["seed_rows_kept"] >= 1
    (Path(os.environ.get("DATAFLOW_MATH_REPORT", tmp_path)) / "math_acceptance.json").write_text(
        json.dumps({"seconds": summary["totals"]["seconds"], **numbers}, indent=1))
