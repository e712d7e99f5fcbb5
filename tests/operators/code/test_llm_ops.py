"""The code LLM operators on a scripted serving: what their prompts carry, how answers become code,
instructions and scores (fenced, unfenced, empty, not code), and why rows are dropped or rejected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dataflow.core.errors import ParamsError
from dataflow.operators.code.llm_quality import CodeQualitySampleEvaluator, CodeQualityScoreFilter
from dataflow.operators.code.llm_shared import clean_instruction, extract_code, is_python
from dataflow.operators.code.llm_synthesis import (
    CodeCodeToInstructionGenerator,
    CodeEnhancementInstructionGenerator,
    CodeInstructionGenerator,
    CodeInstructionToCodeGenerator,
)
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

MBPP = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "code" / "mbpp_train.jsonl"


def mbpp_rows(*task_ids: int) -> list[dict]:
    if not MBPP.is_file():
        pytest.skip(f"MBPP fixture not found at {MBPP} (the shared fixtures live in <repo root>/../shared)")
    rows = {r["task_id"]: r for r in map(json.loads, MBPP.read_text(encoding="utf-8").splitlines())}
    return [rows[t] for t in task_ids]


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


# ----------------------------------------------------------------------------- reading answers
@pytest.mark.parametrize("answer, code", [
    ("```python\ndef f(x):\n    return x + 1\n```", "def f(x):\n    return x + 1"),
    ("Here you go:\n\n```py\r\ndef f():\r\n    return 1\r\n```\r\nIt returns 1.", "def f():\n    return 1"),
    ("```\nimport math\nprint(math.pi)\n```", "import math\nprint(math.pi)"),
    # Example usage in a second block is not part of the solution; other languages are skipped.
    ("```bash\npip install numpy\n```\n```python\ndef g(): return 2\n```\n```python\nprint(g())\n```",
     "def g(): return 2"),
    # Cut by max_tokens: no closing fence.
    ("```python\ndef h(n):\n    total = 0\n    for i in range(n):", "def h(n):\n    total = 0\n    for i in range(n):"),
    ("def add(a, b):\n    return a + b", "def add(a, b):\n    return a + b"),
    ("Sure! The function is:\ndef add(a, b):\n    return a + b\n\nIt adds a and b.", "def add(a, b):\n    return a + b"),
    ("I cannot help with that.", None),
    ("add", None),
    ("'just a string'", None),
    ("```java\nint add(int a, int b) { return a + b; }\n```", None),
    ("```python\n\n```", None),
    ("   ", None),
    (None, None),
])
def test_extract_code_reads_fenced_and_unfenced_answers_and_finds_no_code_in_prose(answer, code):
    assert extract_code(answer) == code


def test_is_python_needs_a_statement_beyond_names_and_literals():
    assert is_python("x = 1") and is_python("print(1)") and is_python("import os")
    assert not is_python("x") and not is_python("42") and not is_python("Write a function.")


@pytest.mark.parametrize("answer, instruction", [
    ("Instruction: Write a function `f(x)` that doubles x.", "Write a function `f(x)` that doubles x."),
    ('**Generated Instruction:** "Write a function that sorts a list."', "Write a function that sorts a list."),
    ("  Write a function that sorts a list.\n", "Write a function that sorts a list."),
    ("Instruction:", ""),
    (None, ""),
])
def test_clean_instruction_removes_labels_and_quotes(answer, instruction):
    assert clean_instruction(answer) == instruction


# ----------------------------------------------------------------------------- code -> instruction
def test_code_to_instruction_prompts_with_the_code_and_cleans_the_answer():
    rows = mbpp_rows(2, 3)

    def respond(call):
        code = between(user_text(call), "```python", "```")
        name = re.search(r"def (\w+)", code).group(1)
        return f"Instruction: Write a Python function `{name}` that does the task." if name != "is_not_prime" else ""

    serving = ScriptedServing(respond)
    result = run_operator(CodeCodeToInstructionGenerator(), [*rows, {"code": "  "}], serving=serving)
    assert [r["instruction"] for r in result.kept] == ["Write a Python function `similar_elements` that does "
                                                        "the task."]
    assert result.reject_reasons == ["empty instruction in the answer", "empty code"]
    assert len(serving.calls) == 2  # the blank code never reached the model
    prompt = user_text(serving.calls[0])
    assert "def similar_elements(test_tup1, test_tup2):" in prompt and "exact name and parameters" in prompt
    assert serving.calls[0].schema is None and serving.calls[0].max_tokens == 256


# ----------------------------------------------------------------------------- instruction -> code
def test_instruction_to_code_keeps_only_the_code_and_rejects_answers_without_code():
    answers = {
        "fenced": "Here is the code:\n```python\ndef double(x):\n    return 2 * x\n```\nDone.",
        "unfenced": "def triple(x):\n    return 3 * x",
        "prose": "You can multiply x by four.",
        "empty": "",
    }
    serving = ScriptedServing(lambda call: answers[between(user_text(call), "Task:\n", "\n")])
    rows = [{"instruction": name, "id": i} for i, name in enumerate(answers)] + [{"instruction": None, "id": 9}]
    result = run_operator(CodeInstructionToCodeGenerator(), rows, serving=serving)
    assert [(r["id"], r["code"]) for r in result.kept] == [(0, "def double(x):\n    return 2 * x"),
                                                          (1, "def triple(x):\n    return 3 * x")]
    assert result.reject_reasons == ["no code in the answer", "no code in the answer", "empty instruction"]
    assert len(serving.calls) == 4
    assert "```python code block" in user_text(serving.calls[0])
    assert serving.calls[0].max_tokens == 768 and serving.calls[0].stop == ["\n```\n"]


# ----------------------------------------------------------------------------- enhancement
def test_enhancement_shows_the_tests_as_context_and_writes_the_instruction():
    row = mbpp_rows(3)[0]
    serving = ScriptedServing(lambda call: "Write a Python function `is_not_prime(n)` that returns True when n "
                                           "is not a prime number.")
    result = run_operator(CodeEnhancementInstructionGenerator(), [row], serving=serving, input_key="text",
                          input_context_key="test_list")
    assert result.kept[0]["instruction"].startswith("Write a Python function `is_not_prime(n)`")
    prompt = user_text(serving.calls[0])
    assert "Write a python function to identify non-prime numbers." in prompt
    # The list of assert lines arrives one a line, and the prompt asks to follow its names.
    assert "assert is_not_prime(2) == False\nassert is_not_prime(10) == True\n" in prompt
    assert "exactly as the material above uses them" in prompt


def test_enhancement_without_context_has_no_context_section_and_rejects_blank_requests():
    serving = ScriptedServing(lambda call: "Write a Python function `reverse(s)` that returns s reversed.")
    result = run_operator(CodeEnhancementInstructionGenerator(), [{"input": "pls reverse string, output in "
                                                                            "markdown thx"}, {"input": ""}],
                          serving=serving)
    assert [r["instruction"] for r in result.kept] == ["Write a Python function `reverse(s)` that returns s "
                                                       "reversed."]
    assert result.reject_reasons == ["empty request"]
    prompt = user_text(serving.calls[0])
    assert "pls reverse string" in prompt and "What comes with the request" not in prompt


# ----------------------------------------------------------------------------- new instructions
def test_instruction_generator_makes_new_rows_without_repeats_short_ones_or_copies_of_the_seed():
    seed = "Write a function `is_even(n)` that returns True when n is even."

    def respond(call):
        n = call.schema["properties"]["instructions"]["minItems"]
        assert n == 4
        if "Example 2:" in user_text(call):  # the few-shot row: only copies come back
            return as_json(instructions=["Write a function `is_odd(n)`."] + ["write a function is_even(n) that "
                                                                             "returns true when n is even"] * 3)
        return as_json(instructions=[
            "Write a function `is_square(n)` that returns True when n is a perfect square.",
            seed.upper(),  # repeats the seed
            "Sort it.",  # too short to be a task
            "Write a function `is_square(n)` that returns True when n is a perfect square!",  # repeat
        ])

    serving = ScriptedServing(respond)
    rows = [{"seed": seed, "src": "a"}, {"seed": [seed, "Write a function `is_odd(n)`."], "src": "b"},
            {"seed": [], "src": "c"}]
    result = run_operator(CodeInstructionGenerator(num_instructions=4), rows, serving=serving)
    assert [(r["instruction"], r["src"]) for r in result.kept] == [
        ("Write a function `is_square(n)` that returns True when n is a perfect square.", "a")]
    assert result.kept_ids == ["1.0"]
    assert result.drop_reasons == ["no new instruction"] and result.dropped[0]["src"] == "b"
    assert result.reject_reasons == ["empty seed"]
    first, second = (user_text(c) for c in serving.calls)
    assert seed in first and "Example 2:" not in first and "Write 4 new programming task(s)" in first
    assert "Example 1:\n" + seed in second and "Example 2:\nWrite a function `is_odd(n)`." in second
    assert serving.calls[0].temperature == 0.7 and serving.calls[0].max_tokens == 4 * 160 + 32


def test_instruction_generator_on_topics():
    serving = ScriptedServing(lambda call: as_json(instructions=["Write a function `merge(a, b)` that merges "
                                                                 "two sorted lists into one sorted list."]))
    result = run_operator(CodeInstructionGenerator(seed_type="topic"), [{"topic": "sorting"}], serving=serving,
                          input_key="topic")
    assert result.kept[0]["instruction"].startswith("Write a function `merge(a, b)`")
    prompt = user_text(serving.calls[0])
    assert prompt.startswith("Topic: sorting") and "Example" not in prompt
    with pytest.raises((ParamsError, ValueError)):
        CodeInstructionGenerator(num_instructions=0)
    with pytest.raises(ParamsError):
        CodeInstructionGenerator(seed_type="idea")


# ----------------------------------------------------------------------------- quality
def review(call) -> str:
    prompt = user_text(call)
    code = between(prompt, "```python", "```")
    if "BROKEN" in code:
        return "The code looks fine, 8/10."  # not JSON: repaired, then given up
    if "return 2 * x" in code:
        return as_json(feedback="Correct and clear.", score=9)
    if "return x + x + 0" in code:
        return as_json(feedback="Correct but roundabout.", score=7)
    return as_json(feedback="It does not double x.", score=2)


PAIRS = [
    {"instruction": "Write a function `double(x)` returning 2x.", "code": "def double(x):\n    return 2 * x"},
    {"instruction": "Write a function `double(x)` returning 2x.", "code": "def double(x):\n    return x + x + 0"},
    {"instruction": "Write a function `double(x)` returning 2x.", "code": "def double(x):\n    return x"},
    {"instruction": "Write a function `double(x)` returning 2x.", "code": "BROKEN"},
    {"instruction": "Write a function `double(x)` returning 2x.", "code": ""},
]


def test_quality_evaluator_writes_score_and_feedback_and_rejects_unreadable_answers():
    serving = ScriptedServing(review)
    result = run_operator(CodeQualitySampleEvaluator(), PAIRS, serving=serving)
    assert [(r["quality_score"], r["quality_feedback"]) for r in result.kept] == [
        (9, "Correct and clear."), (7, "Correct but roundabout."), (2, "It does not double x.")]
    assert "schema" in result.reject_reasons[0] and result.reject_reasons[1] == "empty code"
    schema = serving.calls[0].schema
    assert schema["properties"]["score"]["enum"] == list(range(1, 11)) and schema["required"] == ["feedback",
                                                                                                  "score"]
    prompt = user_text(serving.calls[0])
    assert "Write a function `double(x)` returning 2x." in prompt and "from 1 (wrong" in prompt
    assert "to 10 (correct" in prompt


def test_quality_filter_keeps_the_range_and_names_the_bound_it_failed():
    serving = ScriptedServing(review)
    result = run_operator(CodeQualityScoreFilter(min_score=7, max_score=8), PAIRS, serving=serving,
                          output_score_key="score")
    assert [r["code"] for r in result.kept] == ["def double(x):\n    return x + x + 0"]
    assert [(r["score"], r["reason"]) for r in result.dropped] == [(9, "score > 8"), (2, "score < 7")]
    assert result.dropped[1]["quality_feedback"] == "It does not double x."
    assert len(result.reject_reasons) == 2
    assert run_operator(CodeQualityScoreFilter(), PAIRS[:3], serving=serving).drop_reasons == ["quality_score < 7"]
    for bounds in ({"min_score": 0}, {"min_score": 8, "max_score": 7}, {"max_score": 11}):
        with pytest.raises((ParamsError, ValueError)):
            CodeQualityScoreFilter(**bounds)
