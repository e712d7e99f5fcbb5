"""The LLM operator base: prompt -> serving -> parse -> rows or rejects, with a tiny in-test serving."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pydantic
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.llm_operator import LLMFilter, LLMGenerator, Sampling
from dataflow.core.llm_types import LLMRequest, LLMResult
from dataflow.core.operator import DROP_REASON, REJECT_REASON, ROW_ID, InputColumn, OutputColumn, Reject


class EchoServing:
    """Answers each prompt with ``answers[prompt]`` (a str, or an LLMResult for failures); records requests."""

    def __init__(self, answers: dict[str, str | LLMResult]) -> None:
        self.answers = answers
        self.requests: list[LLMRequest] = []

    def answer(self, request: LLMRequest) -> str | LLMResult:
        """The scripted answer to ``request`` (override to look answers up another way)."""
        return self.answers[request.prompt]

    def generate(self, requests: list[LLMRequest]) -> list[LLMResult]:
        self.requests.extend(requests)
        out = []
        for r in requests:
            answer = self.answer(r)
            if isinstance(answer, LLMResult):
                out.append(answer)
            else:
                out.append(LLMResult(text=answer, parsed=json.loads(answer) if r.json_schema else None))
        return out


class SQLWriter(LLMGenerator):
    """The shape a new domain writes: its prompt, its schema and its parse; nothing else."""

    input_key = InputColumn("question")
    output_key = OutputColumn("sql", "str")
    default_template = "Write SQL for: {{ question }} (tables: {{ tables }})"
    prompt_inputs = {"question": "input_key"}

    def schema(self):
        return {"type": "object", "required": ["sql"], "properties": {"sql": {"type": "string"}}}

    def parse(self, answer):
        sql = answer.parsed["sql"].strip()
        if not sql.upper().startswith("SELECT"):
            return Reject("not a SELECT query")
        return {"output_key": sql}


def prompt(question: str, tables: str = "t") -> str:
    return f"Write SQL for: {question} (tables: {tables})"


def run(op, rows, serving, **bindings):
    storage = DataFrameStorage(rows, serving=serving)
    op.run(storage, **bindings)
    return storage


def reasons(frames, column):
    return dict(zip(pd.concat(frames)[ROW_ID], pd.concat(frames)[column])) if frames else {}


def test_answers_become_rows_and_bad_answers_rejects_with_reasons():
    serving = EchoServing({
        prompt("all users"): json.dumps({"sql": " SELECT * FROM users "}),
        prompt("drop it"): json.dumps({"sql": "DROP TABLE users"}),
        prompt("no key"): json.dumps({"query": "SELECT 1"}),
        prompt("down"): LLMResult(error="HTTP 503"),
    })
    rows = [{"question": q, "tables": "t"} for q in ("all users", "drop it", "no key", "down")]
    s = run(SQLWriter(temperature=0.3, max_tokens=64, seed=7, system_prompt="You write SQL."), rows, serving)
    assert s.frame["sql"].tolist() == ["SELECT * FROM users"]
    why = reasons(s.rejected, REJECT_REASON)
    assert why["2"] == "not a SELECT query"
    assert why["3"].startswith("invalid answer: KeyError")
    assert why["4"] == "llm: HTTP 503"
    first = serving.requests[0]
    assert (first.system, first.temperature, first.max_tokens, first.seed) == ("You write SQL.", 0.3, 64, 7)
    assert first.json_schema == SQLWriter().schema()


def test_template_columns_are_inputs_and_the_template_text_is_fingerprinted():
    op = SQLWriter(prompt_template="Q: {{ question }} in {{ dialect }}")
    assert set(op.input_columns(op.resolve_bindings({}))) == {"question", "dialect"}
    assert op.fingerprint_extras() == ["Q: {{ question }} in {{ dialect }}"]
    assert op.params["prompt_template"] == "Q: {{ question }} in {{ dialect }}"
    # The bound column fills the template's variable.
    serving = EchoServing({"Q: hi in pg": json.dumps({"sql": "SELECT 'hi'"})})
    s = run(op, [{"ask": "hi", "dialect": "pg"}], serving, input_key="ask")
    assert s.frame["sql"].tolist() == ["SELECT 'hi'"]


def test_sampling_is_one_validated_model():
    sampling = Sampling(temperature=0.5, max_tokens=10, seed=1)
    request = sampling.request("p", seed=2)
    assert (request.prompt, request.temperature, request.max_tokens, request.seed) == ("p", 0.5, 10, 2)
    assert sampling.seed == 1  # overrides make a new request, never change the settings
    with pytest.raises(pydantic.ValidationError):
        Sampling(max_tokens=0)
    with pytest.raises(pydantic.ValidationError):
        Sampling(temprature=0.2)
    assert SQLWriter(max_tokens=99).sampling.max_tokens == 99


class Skipper(LLMGenerator):
    """Free text; blank rows are rejected without a call and rows marked "skip" are left without one."""

    default_template = "Say {{ word }}"
    prompt_inputs = {"word": "input_key"}
    input_key = InputColumn("word")
    output_key = OutputColumn("said", "str")

    def prompts(self, batch, ctx):
        words = batch[ctx.cols.input_key].tolist()
        return [Reject("blank") if not w else None if w == "skip" else p
                for w, p in zip(words, super().prompts(batch, ctx))]


def test_prompts_can_reject_or_skip_rows_without_a_call():
    serving = EchoServing({"Say hi": "  hi!  ", "Say nothing": "   "})
    s = run(Skipper(), [{"word": "hi"}, {"word": ""}, {"word": "skip"}, {"word": "nothing"}], serving)
    assert [r.prompt for r in serving.requests] == ["Say hi", "Say nothing"]
    assert s.frame["word"].tolist() == ["hi", "skip"]
    assert s.frame["said"][0] == "hi!" and pd.isna(s.frame["said"][1])
    assert reasons(s.rejected, REJECT_REASON) == {"2": "blank", "4": "llm: empty answer"}


class Splitter(LLMGenerator):
    """Each answer lists new rows."""

    new_rows = True
    no_output_reason = "no parts"
    default_template = "Split {{ text }}"
    prompt_inputs = {"text": "input_key"}
    input_key = InputColumn("text")
    output_key = OutputColumn("part", "str")

    def parse(self, answer):
        return [{"output_key": p} for p in answer.text.split()]


def test_new_rows_replace_their_parent_or_reject_it():
    serving = EchoServing({"Split a b": "a b", "Split x": LLMResult(error="timeout"), "Split -": ""})
    s = run(Splitter(), [{"text": "a b"}, {"text": "x"}, {"text": "-"}], serving)
    assert s.frame[ROW_ID].tolist() == ["1.0", "1.1"] and s.frame["part"].tolist() == ["a", "b"]
    assert reasons(s.rejected, REJECT_REASON) == {"2": "llm: timeout"}
    assert reasons(s.dropped, DROP_REASON) == {"3": "no parts"}


class Judge(LLMFilter):
    """Keeps texts the model scores 3 or more; the score is written, also on dropped rows."""

    default_template = "Rate {{ text }}"
    prompt_inputs = {"text": "input_key"}
    input_key = InputColumn("text")
    output_key = OutputColumn("rating", "int")

    def parse(self, answer):
        return {"output_key": int(answer.text)}

    def keep(self, batch, scores, ctx):
        return [s >= 3 for s in scores["output_key"]], "rated below 3"


def test_filter_writes_scores_drops_by_keep_and_rejects_failures():
    serving = EchoServing({"Rate good": "5", "Rate bad": "1", "Rate odd": "five"})
    s = run(Judge(), [{"text": "good"}, {"text": "bad"}, {"text": "odd"}], serving)
    assert s.frame["text"].tolist() == ["good"] and s.frame["rating"].tolist() == [5]
    dropped = pd.concat(s.dropped)
    assert dropped["rating"].tolist() == [1] and dropped[DROP_REASON].tolist() == ["rated below 3"]
    assert reasons(s.rejected, REJECT_REASON)["3"].startswith("invalid answer: ValueError")


def test_core_does_not_import_serving_and_serving_reuses_the_core_types():
    code = ("import sys, dataflow.core.llm_operator, dataflow.core.operator, dataflow.core.plan; "
            "print(any(m.startswith('dataflow.serving') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from dataflow.serving.base import LLMRequest as ServingRequest

    assert ServingRequest is LLMRequest
