"""Templates declare the columns they read, and compile() checks them before any LLM call."""

from __future__ import annotations

import json

import pytest

from dataflow.core.errors import CompileError
from dataflow.core.pipeline import Pipeline
from dataflow.core.prompts import PromptTemplate, add_user_dir, get_template, list_templates
from dataflow.operators.core_text.prompted_filter import score_schema
from dataflow.operators.core_text.prompted_generator import FormatStrPromptedGenerator, PromptedGenerator


def spec(tmp_path, step):
    (tmp_path / "in.jsonl").write_text(json.dumps({"question": "2+2?", "text": "t"}) + "\n")
    return {"input": str(tmp_path / "in.jsonl"), "steps": [step],
            "serving": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}}


def test_template_variables_are_the_columns_read():
    t = PromptTemplate.from_string("Q: {{ question }}\n{% if hint %}Hint: {{ hint }}{% endif %}")
    assert t.columns() == ["hint", "question"]
    assert t.columns({"hint"}) == ["question"]


def test_compile_names_a_column_the_template_reads_but_the_data_lacks(tmp_path):
    step = {"op": "PromptedGenerator", "params": {"prompt_template": "Solve: {{ problem }}"},
            "run": {"output_key": "answer"}}
    with pytest.raises(CompileError, match=r"step 1 \(PromptedGenerator\).*'problem'"):
        Pipeline.from_spec(spec(tmp_path, step)).compile()
    step["params"]["prompt_template"] = "Solve: {{ question }}"
    assert Pipeline.from_spec(spec(tmp_path, step)).compile().required.keys() == {"question"}


def test_format_string_placeholders_map_to_columns(tmp_path):
    op = FormatStrPromptedGenerator(template="Q: {q} ({q})", columns={"q": "question"})
    bindings = op.resolve_bindings({})
    assert list(op.input_columns(bindings)) == ["question"]
    step = {"op": "FormatStrPromptedGenerator", "params": {"template": "Q: {problem}"}}
    with pytest.raises(CompileError, match="'problem'"):
        Pipeline.from_spec(spec(tmp_path, step)).compile()


def test_prompt_or_input_key_is_required():
    op = PromptedGenerator()
    assert "(bind input_key or give a prompt_template)" in op.input_columns(op.resolve_bindings({}))


def test_user_template_directory_overrides_the_packaged_one(tmp_path):
    assert "core_text/score" in list_templates()
    (tmp_path / "core_text").mkdir()
    (tmp_path / "core_text" / "summarize.jinja").write_text("Shorten: {{ text }}")
    add_user_dir(tmp_path)
    try:
        assert get_template("core_text/summarize").render(text="abc") == "Shorten: abc"
    finally:
        from dataflow.core import prompts

        prompts._user_dirs.remove(tmp_path)
    assert get_template("core_text/summarize").render(text="abc").startswith("Summarize")


def test_score_schema_bounds_the_score():
    schema = score_schema(1, 5)
    assert schema["properties"]["score"] == {"type": "integer", "enum": [1, 2, 3, 4, 5]}
    assert schema["required"] == ["reason", "score"]


def test_editing_a_template_file_changes_the_step_fingerprint(tmp_path):
    (tmp_path / "mine").mkdir()
    template = tmp_path / "mine" / "ask.jinja"
    template.write_text("Q: {{ question }}")
    add_user_dir(tmp_path)
    try:
        step = {"op": "PromptedGenerator", "params": {"prompt_template": "mine/ask"}, "run": {"output_key": "a"}}
        first = Pipeline.from_spec(spec(tmp_path, step)).compile().steps[0].fingerprint
        template.write_text("Question: {{ question }}")
        second = Pipeline.from_spec(spec(tmp_path, step)).compile().steps[0].fingerprint
    finally:
        from dataflow.core import prompts

        prompts._user_dirs.remove(tmp_path)
    assert first != second
