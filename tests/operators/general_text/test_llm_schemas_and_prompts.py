"""General-text LLM operators without any model: schemas, prompt rendering, column checks, row expansion."""

from __future__ import annotations

import json
from types import SimpleNamespace

import jsonschema
import pandas as pd
import pytest

from dataflow.core.errors import CompileError
from dataflow.core.operator import DROP_REASON, REJECT_REASON, ROW_ID, Reject, expand_rows
from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS
from dataflow.operators.general_text.llm._shared import token_budget
from dataflow.operators.general_text.llm.alpagasus import AlpagasusFilter, AlpagasusScorer
from dataflow.operators.general_text.llm.condor_generator import CondorGenerator, pairs_schema
from dataflow.operators.general_text.llm.condor_refiner import CondorRefiner
from dataflow.operators.general_text.llm.quality_scorer import LLMQualityScorer, quality_schema
from dataflow.operators.general_text.llm.text2qa import Text2QAGenerator, qa_schema

OPS = ["AlpagasusScorer", "AlpagasusFilter", "LLMQualityScorer", "CondorGenerator", "CondorRefiner",
       "Text2QAGenerator"]


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows)
    df.insert(0, ROW_ID, [str(i) for i in range(1, len(df) + 1)])
    return df


def ctx_for(op, **bindings):
    return SimpleNamespace(cols=op.resolve_bindings(bindings))


@pytest.mark.parametrize("name", OPS)
def test_registered_and_needs_llm(name):
    cls = OPERATORS.get(name)
    assert cls.uses("llm")
    assert cls.__doc__ and len(cls.__doc__.split()) > 20


def test_pairs_schema_bounds_items_and_lengths():
    schema = pairs_schema(2, max_instruction_chars=20, max_response_chars=30)
    validator = jsonschema.Draft202012Validator(schema)
    pair = {"instruction": "Explain lists.", "response": "Ordered, mutable."}
    good = {"pairs": [pair, {**pair, "instruction": "Explain tuples."}]}
    assert not list(validator.iter_errors(good))
    too_many = {"pairs": good["pairs"] * 2}
    too_few = {"pairs": [pair]}
    too_long = {"pairs": [pair, {"instruction": "Explain lists.", "response": "x" * 31}]}
    empty = {"pairs": []}
    extra_key = {"pairs": [pair, {**pair, "note": "n"}]}
    for bad in (too_many, too_few, too_long, empty, extra_key):
        assert list(validator.iter_errors(bad)), bad
    items = schema["properties"]["pairs"]
    assert items["maxItems"] == items["minItems"] == 2
    assert items["items"]["properties"]["instruction"]["maxLength"] == 20


def test_every_operator_schema_bounds_every_string_and_array():
    def check(node, where):
        if node.get("type") == "string":
            assert "maxLength" in node, where
        if node.get("type") == "array":
            assert "maxItems" in node, where
        for key, child in (node.get("properties") or {}).items():
            check(child, f"{where}.{key}")
        if isinstance(node.get("items"), dict):
            check(node["items"], f"{where}[]")

    refiner = CondorRefiner()
    for name, schema in [("condor", CondorGenerator().schema()), ("critique", refiner.critique_schema()),
                         ("rewrite", refiner.response_schema()), ("alpagasus", AlpagasusScorer().schema()),
                         ("quality", LLMQualityScorer().schema()), ("qa", Text2QAGenerator().schema())]:
        jsonschema.Draft202012Validator.check_schema(schema)
        check(schema, name)


def test_default_token_budget_fits_the_largest_valid_answer():
    op = CondorGenerator(num_pairs=4, max_instruction_chars=100, max_response_chars=300)
    largest = {"pairs": [{"instruction": "i" * 100, "response": "r" * 300}] * 4}
    # A generous 3 characters per token: a maximal answer still fits, so it cannot be cut.
    assert op.sampling.max_tokens >= len(json.dumps(largest)) / 3
    assert token_budget(300) >= 100
    assert CondorGenerator(max_tokens=77).sampling.max_tokens == 77


def test_quality_and_qa_schemas():
    schema = quality_schema(["a", "b"], 1, 5)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"reason": "ok", "scores": {"a": 1, "b": 5}}))
    assert list(validator.iter_errors({"reason": "ok", "scores": {"a": 1}}))  # every aspect required
    assert list(validator.iter_errors({"reason": "ok", "scores": {"a": 0, "b": 5}}))
    qa = jsonschema.Draft202012Validator(qa_schema(1))
    assert list(qa.iter_errors({"qa_pairs": [{"question": "What is X?", "answer": "Y"}] * 2}))


def test_condor_prompt_renders_topic_and_bounds():
    op = CondorGenerator(num_pairs=2, max_response_chars=350)
    batch = frame([{"seed": "Rust ownership"}, {"seed": "tea brewing"}])
    prompts = op.prompts(batch, ctx_for(op, input_key="seed"))
    assert "Topic: Rust ownership" in prompts[0] and "Topic: tea brewing" in prompts[1]
    assert "Write 2 different instructions" in prompts[0]
    assert "at most 50 words" in prompts[0]


def test_templates_render_row_values():
    scorer = AlpagasusScorer()
    batch = frame([{"instruction": "Add 2 and 3.", "input": "", "output": "5"},
                   {"instruction": "Translate.", "input": "Bonjour", "output": "Hello"}])
    prompts = scorer.render_prompts(batch, instruction=["Add 2 and 3.", "Translate."], input=["", "Bonjour"],
                                    response=["5", "Hello"], min_score=1, max_score=5)
    assert "Add 2 and 3." in prompts[0] and "Input:" not in prompts[0]
    assert "Input:\nBonjour" in prompts[1] and "Response:\nHello" in prompts[1]
    quality = LLMQualityScorer(dimensions={"clarity": "easy to read"})
    [prompt] = quality.render_prompts(frame([{"text": "T"}]), text=["T"], dimensions=quality.dimensions,
                                      min_score=1, max_score=5)
    assert "- clarity: easy to read" in prompt and '"clarity": <integer>' in prompt


def compile_steps(tmp_path, rows, build):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    class P(Pipeline):
        def forward(self):
            build(self.storage)

    return P(path, tmp_path / "out.jsonl").compile()


def test_compile_checks_bound_columns(tmp_path):
    rows = [{"instruction": "Say hi.", "output": "Hi"}]
    # No "input" column, but it is bound: compile names it before any LLM call.
    with pytest.raises(CompileError, match="'input'"):
        compile_steps(tmp_path, rows, lambda s: AlpagasusFilter().run(s, input_input_key="input"))
    compile_steps(tmp_path, rows, lambda s: AlpagasusFilter().run(s))  # optional input left unbound
    with pytest.raises(CompileError, match="'response'"):
        compile_steps(tmp_path, rows, lambda s: CondorRefiner().run(s, input_key="response"))


def test_compile_checks_template_columns(tmp_path):
    rows = [{"topic": "sql joins"}]
    custom = "Topic {{ topic }} for {{ audience }}: {{ num_pairs }} pairs, {{ max_response_words }} words."
    with pytest.raises(CompileError, match="audience"):
        compile_steps(tmp_path, rows, lambda s: CondorGenerator(prompt_template=custom).run(s))
    plan = compile_steps(tmp_path, [{"topic": "sql joins", "audience": "kids"}],
                         lambda s: CondorGenerator(prompt_template=custom).run(s))
    assert "audience" in plan.required
    critique = "Critique {{ response }} for {{ instruction }} in {{ language }}."
    with pytest.raises(CompileError, match="language"):
        compile_steps(tmp_path, [{"instruction": "i", "output": "o"}],
                      lambda s: CondorRefiner(critique_template=critique).run(s))


def test_condor_outputs_feed_the_refiner_and_filter(tmp_path):
    def build(s):
        CondorGenerator().run(s)
        CondorRefiner().run(s)
        AlpagasusFilter().run(s, input_input_key="input")

    plan = compile_steps(tmp_path, [{"topic": "git rebase"}], build)
    assert not plan.errors and not plan.warnings  # refiner rewrites "output" in place: no overwrite warning


def test_condor_rows_from_answer_expand_under_their_topic():
    op = CondorGenerator(num_pairs=3)
    cols = op.resolve_bindings({})
    batch = frame([{"topic": "sql joins", "lang": "en"}, {"topic": "haiku"}, {"topic": "broken"}])
    answers = {
        0: {"pairs": [{"instruction": "Explain an inner join.", "response": "It keeps matching rows."},
                      {"instruction": "explain an  INNER join.", "response": "Repeat, skipped."},
                      {"instruction": "When is a left join useful?", "response": "To keep unmatched rows."}]},
        1: {"pairs": [{"instruction": "Write a haiku about rain.", "response": "Soft rain on the roof"}]},
    }
    children = [op.parse(SimpleNamespace(parsed=answers[0])), op.parse(SimpleNamespace(parsed=answers[1])),
                Reject("llm: not valid JSON")]
    assert [r["output_instruction_key"] for r in children[0]] == ["Explain an inner join.",
                                                                  "When is a left join useful?"]
    result = expand_rows(batch, op.answer_rows(children, cols), op.no_output_reason)
    out = result.frame
    assert out[ROW_ID].tolist() == ["1.0", "1.1", "2.0"]
    assert out["topic"].tolist() == ["sql joins", "sql joins", "haiku"]
    assert out["lang"].tolist()[:2] == ["en", "en"]
    assert out["input"].tolist() == ["", "", ""]
    assert out["output"].tolist() == ["It keeps matching rows.", "To keep unmatched rows.", "Soft rain on the roof"]
    assert result.rejected[ROW_ID].tolist() == ["3"]
    assert result.rejected[REJECT_REASON].tolist() == ["llm: not valid JSON"]
    assert set(result.written) == {"instruction", "input", "output"} and result.rows_changed


def test_parent_without_pairs_is_dropped_with_reason():
    op = CondorGenerator(num_pairs=2)
    cols = op.resolve_bindings({"output_input_key": None})
    batch = frame([{"topic": "a"}, {"topic": "b"}])
    children = [op.parse(SimpleNamespace(parsed={"pairs": [{"instruction": "   ", "response": "x"}]})),
                op.parse(SimpleNamespace(parsed={"pairs": [{"instruction": "Name a colour.", "response": "Red"}]}))]
    result = expand_rows(batch, op.answer_rows(children, cols), op.no_output_reason)
    assert result.frame[ROW_ID].tolist() == ["2.0"] and "input" not in result.frame
    assert result.dropped[ROW_ID].tolist() == ["1"]
    assert result.dropped[DROP_REASON].tolist() == ["no pairs generated"]


def test_text2qa_rows_from_answer():
    op = Text2QAGenerator(num_qa=3)
    cols = op.resolve_bindings({"output_question_key": "q", "output_answer_key": "a"})
    rows = op.parse(SimpleNamespace(parsed={"qa_pairs": [{"question": "Who wrote it?", "answer": " Ann "},
                                                         {"question": "who wrote it?", "answer": "Ann"}]}))
    assert rows == [{"output_question_key": "Who wrote it?", "output_answer_key": "Ann"}]
    assert op.answer_rows([rows], cols).to_dict("records") == [{"_parent": 0, "q": "Who wrote it?", "a": "Ann"}]


def test_params_are_validated():
    with pytest.raises(ValueError):
        CondorGenerator(num_pairs=0)
    with pytest.raises(ValueError):
        AlpagasusFilter(threshold=9)
    with pytest.raises(ValueError):
        LLMQualityScorer(min_score=5, max_score=1)


def test_alpagasus_filter_keeps_the_reference_score_range():
    op = AlpagasusFilter(min_score=3, max_score=4)  # the reference's params: the range kept
    ctx = SimpleNamespace(cols=SimpleNamespace(output_key="alpagasus_score"))
    mask, reasons = op.keep(None, {"output_key": [2, 3, 4, 5]}, ctx)
    assert mask.tolist() == [False, True, True, False]
    assert (reasons[0], reasons[3]) == ("alpagasus_score < 3", "alpagasus_score > 4")
    assert AlpagasusFilter(threshold=4).keep_min == 4 and op.schema() == AlpagasusFilter().schema()
