"""The code SFT synthesis pipeline: its step table and YAML twin, a run with a scripted LLM (fast), and the
acceptance run on the embedded model over 10 MBPP-train tasks (slow)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from dataflow.core.eager import DataFrameStorage
from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS
from dataflow.core.run_inspector import RunInspector
from dataflow.pipelines.code.sft_synthesis import SPEC_PATH, CodeSFTSynthesisPipeline, sft_synthesis_steps
from tests.operators.reasoning.scripted_serving import (
    ScriptedServing,
    as_json,
    dropped_rows,
    rejected_rows,
    user_text,
)

HERE = Path(__file__).resolve()
SEEDS = SPEC_PATH.parent / "examples" / "code_seeds.jsonl"
MBPP = HERE.parents[3].parent / "shared" / "fixtures" / "code" / "mbpp_train.jsonl"
SANDBOX_OPS = ("CodeUnitTestGenerator", "CodeTestPassFilter")


def sandbox_ops_or_skip() -> None:
    missing = [name for name in SANDBOX_OPS if name not in OPERATORS]
    if missing:
        pytest.skip(f"operators {', '.join(missing)} are not in this tree (the codesandbox branch adds them)")


def steps_of(plan) -> list[tuple[str, dict, dict]]:
    return [(s.op.op_name(), s.op.params, {k: v for k, v in s.bindings.items() if v is not None})
            for s in plan.steps]


# ----------------------------------------------------------------------------- the step table
def test_yaml_lists_the_default_steps():
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert (SPEC_PATH.parent / spec["input"]).resolve() == SEEDS.resolve()
    assert [(s["op"], s.get("params", {}), s["run"]) for s in spec["steps"]] == sft_synthesis_steps()


def test_steps_follow_the_settings():
    names = [name for name, _, _ in sft_synthesis_steps()]
    assert names == ["CodeCodeToInstructionGenerator", "CodeInstructionToCodeGenerator", "CodeQualityScoreFilter",
                     "CodeUnitTestGenerator", "CodeTestPassFilter"]
    # Seeds with their own tests: none generated, the sandbox reads the seed's (and its setup code).
    steps = sft_synthesis_steps(test_key="test_list", setup_key="test_setup_code", min_quality=5, timeout=3)
    assert [name for name, _, _ in steps] == [n for n in names if n != "CodeUnitTestGenerator"]
    assert steps[2][1] == {"min_score": 5}
    assert steps[-1] == ("CodeTestPassFilter", {"timeout": 3},
                         {"input_key": "generated_code", "input_test_key": "test_list",
                          "input_setup_key": "test_setup_code"})
    # Raw requests: rewritten with their context into the instruction.
    first = sft_synthesis_steps(seed="instruction", instruction_key="text", context_key="test_list")[0]
    assert first == ("CodeEnhancementInstructionGenerator", {},
                     {"input_key": "text", "input_context_key": "test_list", "output_key": "instruction"})
    with pytest.raises(ValueError, match="seed"):
        sft_synthesis_steps(seed="topic")


def test_yaml_and_python_pipelines_compile_to_the_same_steps(tmp_path):
    sandbox_ops_or_skip()
    yaml_plan = Pipeline.from_spec(SPEC_PATH).compile()
    python_plan = CodeSFTSynthesisPipeline(SEEDS, tmp_path / "out.jsonl").compile()
    assert not yaml_plan.errors and not yaml_plan.warnings
    assert steps_of(yaml_plan) == steps_of(python_plan)
    # Wiring errors are caught before any call: seeds without the code column.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"source": "def f(): pass"}) + "\n", encoding="utf-8")
    with pytest.raises(Exception, match="code"):
        CodeSFTSynthesisPipeline(bad, tmp_path / "o.jsonl").compile()
    assert not CodeSFTSynthesisPipeline(bad, tmp_path / "o.jsonl", code_key="source").compile().errors


# ----------------------------------------------------------------------------- scripted LLM
# What the scripted model writes for each seed of the example file: the code it answers with, and its
# review score. gcd and run_length are right; flatten's answer has no code; is_palindrome's code is wrong;
# primes_below's is right but reviewed low.
CODE_ANSWERS = {
    "gcd": ("```python\ndef gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return abs(a)\n```", 9),
    "run_length_encode": ("def run_length_encode(text):\n    import itertools\n    return ''.join("
                          "f'{k}{len(list(g))}' for k, g in itertools.groupby(text))", 8),
    "flatten": ("You can flatten it recursively by extending the result with each sublist.", 8),
    "is_palindrome": ("```python\ndef is_palindrome(s):\n    return s == s[::-1]\n```", 8),
    "primes_below": ("```python\ndef primes_below(n):\n    return [p for p in range(2, n) if all(p % d for d in "
                     "range(2, p))]\n```", 4),
}
TESTS = {
    "gcd": "assert gcd(12, 18) == 6\nassert gcd(7, 5) == 1",
    "run_length_encode": "assert run_length_encode('aab') == 'a2b1'",
    "is_palindrome": "assert is_palindrome('A man, a plan, a canal: Panama')",
    "primes_below": "assert primes_below(10) == [2, 3, 5, 7]",
}


def scripted_model(call) -> str:
    prompt = user_text(call)
    name = re.search(r"`(\w+)\(|def (\w+)\(", prompt)
    name = name.group(1) or name.group(2)
    if "Write the instruction a user could have given" in prompt:
        params = re.search(rf"def {name}\(([^)]*)\)", prompt).group(1)
        return f"Instruction: Write a Python function `{name}({params})` that does what its name says."
    if "Write Python code for this task." in prompt:
        return CODE_ANSWERS[name][0]
    if "You review code." in prompt:
        return as_json(feedback=f"Review of {name}.", score=CODE_ANSWERS[name][1])
    return TESTS[name]  # the unit-test prompt


def test_llm_steps_on_scripted_answers_keep_drop_and_reject_with_reasons():
    seeds = [json.loads(line) for line in SEEDS.read_text(encoding="utf-8").splitlines()]
    storage = DataFrameStorage(seeds, serving=ScriptedServing(scripted_model))
    for name, params, bindings in sft_synthesis_steps()[:3]:
        OPERATORS.get(name)(**params).run(storage, **bindings)
    assert storage.frame["id"].tolist() == ["gcd", "run_length", "palindrome"]
    assert storage.frame["instruction"].tolist()[0] == ("Write a Python function `gcd(a, b)` that does what its "
                                                       "name says.")
    assert storage.frame["generated_code"].tolist()[0].startswith("def gcd(a, b):\n    while b:")
    assert storage.frame["quality_score"].tolist() == [9, 8, 8]
    assert [(r["id"], r["_drop_reason"], r["quality_feedback"]) for r in dropped_rows(storage)] == [
        ("primes", "quality_score < 7", "Review of primes_below.")]
    assert [(r["id"], r["_reject_reason"]) for r in rejected_rows(storage)] == [("flatten", "no code in the answer")]


def test_whole_pipeline_with_a_scripted_llm_and_the_real_sandbox(tmp_path):
    sandbox_ops_or_skip()
    out = tmp_path / "out.jsonl"
    pipeline = CodeSFTSynthesisPipeline(SEEDS, out, serving=ScriptedServing(scripted_model),
                                        cache_dir=tmp_path / "cache", timeout=5)
    summary = pipeline.run(progress=False)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["sandbox_status"]) for r in rows] == [("gcd", "pass"), ("run_length", "pass")]
    assert rows[0]["test"] == TESTS["gcd"] and rows[0]["quality_score"] == 9
    inspector = RunInspector(summary["cache_dir"])
    dropped = {d["record"]["id"]: (d["op"], d["reason"]) for d in inspector.dropped()}
    assert dropped["primes"] == ("CodeQualityScoreFilter", "quality_score < 7")
    op, reason = dropped["palindrome"]
    assert op == "CodeTestPassFilter" and reason.startswith("tests fail:") and "is_palindrome" in reason
    assert len(dropped) == 2
    rejects = list(inspector.rejects())
    assert len(rejects) == 1 and rejects[0]["reason"] == "no code in the answer"


# ----------------------------------------------------------------------------- the embedded model
def mbpp_seeds(tmp_path: Path, count: int) -> Path:
    """The first ``count`` MBPP-train tasks (train split: ids 601+) without setup code, as a JSONL input."""
    if not MBPP.is_file():
        pytest.skip(f"MBPP fixture not found at {MBPP} (the shared fixtures live in <repo root>/../shared)")
    rows = [json.loads(line) for line in MBPP.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["task_id"] >= 601 and not r["test_setup_code"].strip()][:count]
    path = tmp_path / "mbpp_seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.llm
@pytest.mark.slow
def test_sft_synthesis_on_the_embedded_model_over_ten_mbpp_tasks(tmp_path):
    """Acceptance: 10 MBPP-train tasks, seed code -> instruction -> code -> review -> the task's own tests in
    the sandbox. The run completes; every kept row passes its tests when run again in a sandbox of our
    own; every dropped or rejected row has its reason."""
    sandbox_ops_or_skip()
    from dataflow.sandbox import Limits, Sandbox

    seeds = mbpp_seeds(tmp_path, 10)
    out = tmp_path / "code_sft.jsonl"
    pipeline = CodeSFTSynthesisPipeline(seeds, out, test_key="test_list", setup_key="test_setup_code",
                                        serving={"backend": "embedded", "cache": str(tmp_path / "llm.sqlite")},
                                        cache_dir=tmp_path / "cache")
    started = time.perf_counter()
    summary = pipeline.run(progress=False)
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    with Sandbox(Limits(timeout=10, memory_mb=512)) as box:
        again = box.run_many([{"code": r["generated_code"], "tests": r["test_list"]} for r in rows])
    for row, execution in zip(rows, again):
        assert row["sandbox_status"] == "pass" and execution.status == "pass", (row, execution.log)
        assert row["instruction"] and 7 <= row["quality_score"] <= 10
    inspector = RunInspector(summary["cache_dir"])
    dropped, rejects = list(inspector.dropped()), list(inspector.rejects())
    assert all(d["reason"] for d in dropped) and all(r["reason"] for r in rejects)
    assert len(rows) + len(dropped) + len(rejects) == 10
    steps = [(s["op"], s["rows_in"], s["rows_out"], dict(s["dropped"]), s["rejected"], round(s["seconds"]))
             for s in summary["steps"]]
    print(f"\ncode SFT synthesis on 10 MBPP tasks: {len(rows)} kept in {seconds:.0f} s; {steps}")
    for d in dropped:
        print(f"  dropped {d['record']['task_id']} at {d['op']}: {d['reason']}")
    for r in rejects:
        print(f"  rejected: {r['reason']}")
