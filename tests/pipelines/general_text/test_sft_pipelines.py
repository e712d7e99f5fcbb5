"""The SFT filter and SFT synthesis pipelines: wiring (fast), the rule steps on hand-written rows, and the
Condor synthesis acceptance run on the embedded model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from dataflow.core.eager import DataFrameStorage
from dataflow.core.operator import DROP_REASON
from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS
from dataflow.operators.general_text.llm.condor_generator import pair_schema
from dataflow.pipelines.general_text.sft_filter import SFT_FILTER_STEPS, SFTFilterPipeline
from dataflow.pipelines.general_text.sft_synthesis import SFT_SYNTHESIS_STEPS, SFTSynthesisPipeline

HERE = Path(__file__).resolve()
PIPELINES = HERE.parents[3] / "dataflow" / "pipelines" / "general_text"
SEEDS = PIPELINES / "examples" / "sft_seeds.jsonl"
PAIRS = PIPELINES / "examples" / "sft_pairs.jsonl"


def steps_of(plan) -> list[tuple[str, dict, dict]]:
    return [(s.op.op_name(), s.op.params, {k: v for k, v in s.bindings.items() if v is not None})
            for s in plan.steps]


@pytest.mark.parametrize("name, python_cls, data", [("sft_filter", SFTFilterPipeline, PAIRS),
                                                     ("sft_synthesis", SFTSynthesisPipeline, SEEDS)])
def test_yaml_and_python_pipelines_compile_to_the_same_steps(tmp_path, name, python_cls, data):
    spec_path = PIPELINES / f"{name}.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    assert (spec_path.parent / spec["input"]).resolve() == data.resolve()
    yaml_plan = Pipeline.from_spec(spec_path).compile()
    python_plan = python_cls(data, tmp_path / "out.jsonl").compile()
    assert not yaml_plan.errors and not yaml_plan.warnings
    assert steps_of(yaml_plan) == steps_of(python_plan)


def test_step_tables_match_the_yaml():
    synthesis = yaml.safe_load((PIPELINES / "sft_synthesis.yaml").read_text(encoding="utf-8"))
    assert [(s["op"], s.get("params", {})) for s in synthesis["steps"]] == list(SFT_SYNTHESIS_STEPS)
    filt = yaml.safe_load((PIPELINES / "sft_filter.yaml").read_text(encoding="utf-8"))
    assert [(s["op"], s.get("params", {}), s.get("run", {})) for s in filt["steps"]] == list(SFT_FILTER_STEPS)


def test_python_pipelines_follow_custom_column_names(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"prompt": "Say hi to me.", "completion": "Hi!"}) + "\n", encoding="utf-8")
    plan = SFTFilterPipeline(data, tmp_path / "o.jsonl", instruction_key="prompt", context_key=None,
                             response_key="completion", threshold=5).compile()
    bindings = [s.bindings for s in plan.steps]
    assert bindings[0]["input_key"] == "prompt" and bindings[1]["input_key"] == "completion"
    assert bindings[3]["input_output_key"] == "completion" and bindings[3].get("input_input_key") is None
    assert plan.steps[3].op.keep_min == 5
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"subject": "chess openings"}) + "\n", encoding="utf-8")
    plan = SFTSynthesisPipeline(seeds, tmp_path / "o.jsonl", topic_key="subject", pairs_per_topic=5,
                                max_response_chars=400).compile()
    assert plan.steps[0].bindings["input_key"] == "subject" and plan.steps[0].op.num_pairs == 5
    assert plan.steps[1].op.max_response_chars == 400


def test_sft_filter_rule_steps_on_the_example_rows():
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    storage = DataFrameStorage(rows)
    for name, params, bindings in SFT_FILTER_STEPS:
        if OPERATORS.get(name).uses("llm"):
            continue
        OPERATORS.get(name)(**params).run(storage, **bindings)
    kept = storage.frame["instruction"].tolist()
    assert "What is the capital of France?" in kept and "what is the capital of france" not in kept
    assert "Hi" not in kept and "Write a Python function that returns the square of a number." not in kept
    reasons = {r["instruction"]: r[DROP_REASON] for d in storage.dropped for r in d.to_dict("records")}
    assert reasons["Hi"] == "word_count < 3"
    assert reasons["Write a Python function that returns the square of a number."] == "word_count < 1"
    assert reasons["what is the capital of france"] == "exact duplicate"
    assert len(kept) == 5


@pytest.mark.llm
@pytest.mark.slow
def test_sft_synthesis_on_the_embedded_model_makes_ten_valid_pairs(tmp_path):
    """Acceptance: 5 seed topics -> >= 10 schema-valid instruction/response pairs, real model, fresh cache."""
    out = tmp_path / "sft.jsonl"
    serving = {"backend": "embedded", "cache": str(tmp_path / "llm_cache.sqlite")}
    pipeline = SFTSynthesisPipeline(SEEDS, out, pairs_per_topic=3, max_response_chars=360, threshold=3,
                                    serving=serving, cache_dir=tmp_path / "cache")
    started = time.perf_counter()
    summary = pipeline.run(progress=False)
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    validator = jsonschema.Draft202012Validator(pair_schema(200, 360))
    topics = {json.loads(line)["topic"] for line in SEEDS.read_text(encoding="utf-8").splitlines()}
    for row in rows:
        assert not list(validator.iter_errors({"instruction": row["instruction"], "response": row["output"]}))
        assert row["input"] == "" and row["topic"] in topics
        assert 3 <= row["alpagasus_score"] <= 5 and row["alpagasus_reason"] and row["critique"]
    assert len({r["instruction"] for r in rows}) == len(rows)
    per_step = [(s["op"], s["rows_out"], s["dropped"], s["rejected"], s["seconds"], s["tokens_out"])
                for s in summary["steps"]]
    print(f"\nSFT synthesis: {len(rows)} pairs from {len(topics)} topics in {seconds:.0f} s; {per_step}")
    assert len(rows) >= 10, summary
