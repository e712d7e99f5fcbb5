import json

import pytest
import yaml

from dataflow.agent.planner import build_pipeline, refine_pipeline
from dataflow.agent.session import SessionLog
from dataflow.cli.main import main
from tests.agent.scripted import agent_model, function_answer, question
from tests.agent.test_synthesis import PHONE_FILTER

pytest.importorskip("bm25s")

TEXTS = ["call me at 555-123-4567 please, it is urgent", "a long enough plain text without numbers here",
         "tiny", "another fine sentence with seven words"]
NEW_STEP = {"op": "NEW", "name": "DropPhoneNumbers", "kind": "filter",
            "describe": "drop rows whose text contains a phone number", "run": {"input_key": "text"}}
WORDS = {"op": "WordNumberFilter", "params": {"min_words": 3}, "run": {"input_key": "text"}}
PHONE_FUNCTION = """import re

PHONE = re.compile(r"\\d{3}[-. ]\\d{3}[-. ]\\d{4}")


def keep_row(value):
    return PHONE.search(str(value or "")) is None
"""
PHONE_ANSWER = function_answer(PHONE_FUNCTION, ["assert keep_row('ring 555-000-1111') is False",
                                                "assert keep_row('no digits') is True"])
TWO_ACTIONS = {"actions": ["keep texts of at least 3 words", "drop rows whose text contains a phone number"]}


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 2))
    return path


def by_schema(plans, operator_files):
    """Whole-spec plans (refinement) answer the spec-schema calls in turn, operator files the synthesis
    calls (the last repeats)."""
    return agent_model(plan=plans, code=operator_files)


def test_a_new_step_gets_a_written_tested_operator_that_dataflow_run_uses(data, tmp_path):
    serving = agent_model(actions=[TWO_ACTIONS],
                          fill=[{"params": [{"name": "min_words", "value": 3}], "run": {"input_key": "text"}}],
                          new=[{"name": "DropPhoneNumbers", "input_key": "text"}], code=[PHONE_ANSWER])
    spec_out = tmp_path / "clean" / "spec.yaml"
    result = build_pipeline("keep texts of 3+ words and drop rows with phone numbers", data, serving=serving,
                            spec_out=spec_out, rows=8)
    assert result.ok, result.message
    spec = yaml.safe_load(spec_out.read_text())
    assert spec["steps"] == [WORDS, {"op": "ops/drop_phone_numbers.py:DropPhoneNumbers", "params": {},
                                     "run": {"input_key": "text"}}]
    written = (tmp_path / "clean" / "ops" / "drop_phone_numbers.py").read_text()
    assert "def keep_row(value):" in written and "class DropPhoneNumbers(Filter):" in written
    assert "was written by the agent" in result.report and "sandbox" in result.report
    code_call = next(c for c in serving.calls if question(c) == "code")
    assert "def keep_row(value)" in code_call.messages[-1]["content"]
    out = tmp_path / "out.jsonl"
    assert main(["run", str(spec_out), "--output", str(out), "--no-progress"]) == 0
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [TEXTS[1], TEXTS[3]] * 2


def test_a_refused_operator_is_written_again_with_the_reasons_in_view(data, tmp_path):
    refused = function_answer("import socket\n\n\ndef keep_row(value):\n    return True", ["assert keep_row(1)"])
    serving = agent_model(new=[{"name": "DropPhoneNumbers", "input_key": "text"}],
                          code=[refused, refused, PHONE_ANSWER])
    result = build_pipeline("drop rows whose text contains a phone number", data, serving=serving,
                            spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok and result.rounds == 2, result.message
    codes = [c for c in serving.calls if question(c) == "code"]
    assert len(codes) == 3  # round 1: an attempt and its repair, both refused; round 2: a new attempt
    assert "import of 'socket' is not allowed" in codes[2].messages[-1]["content"]
    assert result.spec["steps"][0]["op"] == "ops/drop_phone_numbers.py:DropPhoneNumbers"


def test_refinement_edits_the_existing_spec_and_keeps_its_other_steps(data, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"input": "docs.jsonl", "output": "out.jsonl", "steps": [WORDS]}))
    stricter = {**WORDS, "params": {"min_words": 7}}
    serving = by_schema([json.dumps({"steps": [stricter]})], ["unused"])
    result = refine_pipeline(spec, "stricter on length", serving=serving, rows=8)
    assert result.ok, result.message
    prompt = serving.calls[0].messages[-1]["content"]
    assert json.dumps(WORDS) in prompt and "stricter on length" in prompt and "unless the request" in prompt
    assert yaml.safe_load(spec.read_text())["steps"] == [stricter]
    assert "4 out" in result.report  # 8 rows, two of each text: the two of 8 words survive
    assert result.session_path == str(tmp_path / "spec.refine1.agent.jsonl")
    again = refine_pipeline(spec, "stricter on length", serving=serving, rows=8)
    assert again.session_path == str(tmp_path / "spec.refine2.agent.jsonl")


def test_refinement_can_keep_a_synthesized_step_as_it_is(data, tmp_path):
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "drop_phone_numbers.py").write_text(PHONE_FILTER)
    phone = {"op": "ops/drop_phone_numbers.py:DropPhoneNumbers", "params": {}, "run": {"input_key": "text"}}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"input": "docs.jsonl", "steps": [phone]}))
    serving = by_schema([json.dumps({"steps": [phone, WORDS]})], ["unused"])
    new_spec = tmp_path / "more.yaml"
    result = refine_pipeline(spec, "also drop texts under 3 words", serving=serving, spec_out=new_spec, rows=8)
    assert result.ok, result.message
    assert yaml.safe_load(new_spec.read_text())["steps"] == [phone, WORDS]
    assert {"const": phone} in serving.calls[0].schema["properties"]["steps"]["items"]["anyOf"]


def test_cli_refines_with_spec(data, tmp_path, monkeypatch, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"input": "docs.jsonl", "steps": [WORDS]}))
    serving = by_schema([json.dumps({"steps": [{**WORDS, "params": {"min_words": 7}}]})], ["unused"])
    monkeypatch.setattr("dataflow.serving.create_serving", lambda config=None: serving)
    new = tmp_path / "new.yaml"
    assert main(["agent", "stricter on length", "--spec", str(spec), "--spec-out", str(new), "--rows", "8"]) == 0
    assert yaml.safe_load(new.read_text())["steps"][0]["params"] == {"min_words": 7}
    assert main(["agent", "x", "--spec", str(tmp_path / "missing.yaml")]) == 1
    assert "spec not found" in capsys.readouterr().err


ESCAPING = '''from dataflow.core.operator import Filter, InputColumn

MARKER = {marker!r}


class LeavesAMark(Filter):
    input_key = InputColumn("text", "str")

    def keep(self, batch, scores, ctx):
        try:
            with open(MARKER, "w") as fh:
                fh.write("ran outside the sandbox")
        except OSError:
            pass
        return [True] * len(batch)
'''


def test_a_spec_with_a_file_operator_is_dry_run_in_the_sandbox(data, tmp_path):
    from dataflow.agent.dry_run import dry_run

    marker = tmp_path / "marker.txt"
    spec = {"steps": [{"op": "ops/mark.py:LeavesAMark", "params": {}, "run": {"input_key": "text"}}, WORDS]}
    report = dry_run(spec, data, rows=8, sandboxed=True, time_limit_s=60,
                     files={"ops/mark.py": ESCAPING.format(marker=str(marker))})
    assert report.ok, report.problems
    assert [s.op for s in report.steps] == ["LeavesAMark", "WordNumberFilter"]
    assert (report.rows_in, report.rows_out) == (8, 6)
    assert not marker.exists()  # it ran where it could not write outside its throwaway directory


def test_a_new_operator_with_an_llm_step_is_refused_with_a_reason(data, tmp_path):
    from dataflow.agent.catalog import Catalog
    from dataflow.agent.planner import _dry_run

    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "drop_phone_numbers.py").write_text(PHONE_FILTER)
    spec = {"steps": [{"op": "ops/drop_phone_numbers.py:DropPhoneNumbers", "params": {}, "run": {"input_key": "text"}},
                      {"op": "PromptedEvaluator", "params": {}, "run": {"input_key": "text"}}]}
    report = _dry_run(spec, data, tmp_path, Catalog.from_registry(), rows=8)
    assert not report.ok
    assert "cannot also have LLM steps (PromptedEvaluator)" in report.problems[0]


def test_a_missing_or_broken_operator_file_is_a_compile_problem(tmp_path):
    from dataflow.core.errors import CompileError
    from dataflow.core.pipeline import Pipeline

    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "broken.py").write_text("def oops(:\n")
    for op, why in (("ops/missing.py:X", "operator file not found"), ("ops/broken.py:X", "SyntaxError")):
        spec = tmp_path / "spec.yaml"
        spec.write_text(yaml.safe_dump({"input": "in.jsonl", "steps": [{"op": op, "run": {}}]}))
        (tmp_path / "in.jsonl").write_text('{"text": "a"}\n')
        with pytest.raises(CompileError) as caught:
            Pipeline.from_spec(spec).compile()
        assert why in str(caught.value) and str(tmp_path / "ops") in str(caught.value)


def test_when_no_operator_shows_the_effect_a_new_one_is_written_or_the_agent_says_so(data, tmp_path):
    # Nothing in the data is lorem ipsum: the catalogue's filters for it drop nothing, so none is used.
    serving = agent_model(fill=[{"params": [], "run": {"input_key": "text"}}],
                          new=[{"name": "DropLorem", "input_key": "text"}],
                          code=[function_answer("def keep_row(value):\n    return 'lorem' not in str(value)",
                                                ["assert not keep_row('lorem ipsum')"])])
    result = build_pipeline("drop lorem ipsum placeholder texts", data, serving=serving,
                            spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok and result.spec["steps"][0]["op"] == "ops/drop_lorem.py:DropLorem", result.message
    verdicts = [e for e in SessionLog.load(result.session_path) if e.get("what") == "evidence"]
    assert verdicts and not any(v["ok"] for v in verdicts)
    assert "dropped none of the 8 sample rows" in verdicts[0]["why"]
    refused = build_pipeline("drop lorem ipsum placeholder texts", data, serving=serving, allow_new=False,
                             spec_out=tmp_path / "q.yaml", rows=8, max_rounds=1)
    assert not refused.ok and "no operator in the catalogue does 'drop lorem ipsum placeholder texts'" in refused.message
