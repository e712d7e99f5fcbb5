"""CodeUnitTestGenerator on a scripted LLM: the prompt it sends, the asserts it keeps, what it rejects, and
its tests judging code in the sandbox."""

from __future__ import annotations

from dataflow.operators.code.sandbox_execution import CodeTestPassFilter
from dataflow.operators.code.unit_tests import CodeUnitTestGenerator, assert_statements
from dataflow.sandbox import Limits, Sandbox
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, user_text

SQUARE = "def square(n):\n    return n * n\n"
WRONG_SQUARE = "def square(n):\n    return n + n\n"

ANSWER = """Here are the tests:
```python
assert square(3) == 9
assert square(3) == 9
assert square(-2) == 4 and True
assert square(0 == 0
assert len([1]) == 1
print(square(2))
assert square(1) == 1
assert square(4) == 16
```
These cover the edge cases."""


def script(call) -> str:
    prompt = user_text(call)
    if "def broken" in prompt:
        return "I cannot write tests for this."
    return ANSWER


def test_keeps_valid_asserts_that_call_the_code_and_rejects_answers_without_one():
    serving = ScriptedServing(script)
    rows = [{"code": SQUARE, "instruction": "Square a number."},
            {"code": "def broken(x):\n    return x\n", "instruction": ""},
            {"code": "def cube(n):\n    return n ** 3\n", "instruction": "Cube a number."},
            {"code": "  ", "instruction": "Nothing here."}]
    result = run_operator(CodeUnitTestGenerator(num_tests=3), rows, serving=serving)
    # Deduplicated, syntax errors, non-asserts and asserts not calling square() left out, capped at 3.
    assert [r["test"] for r in result.kept] == [
        "assert square(3) == 9\nassert square(-2) == 4 and True\nassert square(1) == 1"]
    assert result.reject_reasons == ["invalid answer: ValueError: no valid assert statement in the answer",
                                     "invalid answer: no assert calls a function of the code", "no code"]
    assert len(serving.calls) == 3  # the blank code was never sent
    prompt = user_text(serving.calls[0])
    assert SQUARE.strip() in prompt and "Square a number." in prompt and "Write 3 unit tests" in prompt
    assert "Task:" not in user_text(serving.calls[1])  # no instruction, no task section


def test_works_without_an_instruction_column():
    serving = ScriptedServing(lambda call: "assert square(2) == 4")
    result = run_operator(CodeUnitTestGenerator(), [{"code": SQUARE}], serving=serving,
                          input_instruction_key=None)
    assert result.kept == [{"code": SQUARE, "test": "assert square(2) == 4"}]


def test_assert_statements_reads_whole_answers_and_stray_lines():
    assert assert_statements("assert f(1) == (\n    2\n)\nassert f(2) == 3") == [
        "assert f(1) == (\n    2\n)", "assert f(2) == 3"]
    assert assert_statements("def test_f():\n    assert f(1) == 2\n    assert f(2) ==\n") == ["assert f(1) == 2"]
    assert assert_statements("assertion: f works\nassert(f(1))") == ["assert(f(1))"]
    assert assert_statements("no tests at all") == []


def test_generated_tests_tell_right_code_from_wrong_in_the_sandbox():
    serving = ScriptedServing(lambda call: "assert square(3) == 9\nassert square(-1) == 1")
    rows = [{"code": SQUARE}, {"code": WRONG_SQUARE}]
    tests = run_operator(CodeUnitTestGenerator(), rows, serving=serving, input_instruction_key=None)
    with Sandbox(Limits(timeout=5), workers=1) as box:
        judged = run_operator(CodeTestPassFilter(sandbox=box), tests.kept)
    assert [r["code"] for r in judged.kept] == [SQUARE]
    assert judged.drop_reasons == ["tests fail: test 1 failed: assert square(3) == 9"]
