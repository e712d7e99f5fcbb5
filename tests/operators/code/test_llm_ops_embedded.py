"""The code LLM operators on the real embedded model (Qwen2.5-Coder-1.5B on the CPU): one small run each,
asserting what a working prompt must give, not the exact wording."""

from __future__ import annotations

import ast

import pytest

from dataflow.operators.code.llm_quality import CodeQualitySampleEvaluator, CodeQualityScoreFilter
from dataflow.operators.code.llm_shared import is_python
from dataflow.operators.code.llm_synthesis import (
    CodeCodeToInstructionGenerator,
    CodeEnhancementInstructionGenerator,
    CodeInstructionGenerator,
    CodeInstructionToCodeGenerator,
)
from dataflow.testing import run_operator

pytestmark = [pytest.mark.llm, pytest.mark.slow]

COUNT_VOWELS = "def count_vowels(text):\r\n    return sum(1 for ch in text.lower() if ch in 'aeiou')"
GOOD = {"instruction": "Write a Python function `count_vowels(text)` that returns how many vowels (a, e, i, o, u, "
                       "either case) the string text contains.", "code": COUNT_VOWELS.replace("\r\n", "\n")}
BROKEN = {**GOOD, "code": "def count_vowels(text):\n    return len(text) * 2 +"}


def defines(code: str, name: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in ast.parse(code).body)


def test_code_to_instruction_names_the_function(real_llm):
    result = run_operator(CodeCodeToInstructionGenerator(), [{"code": COUNT_VOWELS}], serving=real_llm)
    instruction = result.kept[0]["instruction"]
    assert "count_vowels" in instruction and "def " not in instruction, instruction


def test_instruction_to_code_writes_the_named_function(real_llm):
    result = run_operator(CodeInstructionToCodeGenerator(max_tokens=256), [GOOD], serving=real_llm)
    code = result.kept[0]["code"]
    assert is_python(code) and defines(code, "count_vowels") and "```" not in code, code


def test_enhancement_names_the_function_the_tests_call(real_llm):
    row = {"input": "hey can u write smth that checks if a year is a leap year?? answer in markdown pls",
           "tests": ["assert is_leap(2000) == True", "assert is_leap(1900) == False"]}
    result = run_operator(CodeEnhancementInstructionGenerator(), [row], serving=real_llm, input_context_key="tests")
    instruction = result.kept[0]["instruction"]
    assert instruction.startswith("Write a Python function") and "is_leap" in instruction, instruction


def test_instruction_generator_writes_new_distinct_tasks(real_llm):
    result = run_operator(CodeInstructionGenerator(num_instructions=2), [{"seed": GOOD["instruction"]}],
                          serving=real_llm)
    made = [r["instruction"] for r in result.kept]
    assert 1 <= len(made) <= 2 and GOOD["instruction"] not in made, made
    assert result.kept_ids[0] == "1.0"


def test_quality_evaluator_scores_working_code_above_broken_code(real_llm):
    result = run_operator(CodeQualitySampleEvaluator(), [GOOD, BROKEN], serving=real_llm)
    good, broken = (r["quality_score"] for r in result.kept)
    assert good > broken and good >= 7 and all(r["quality_feedback"] for r in result.kept), result.kept


def test_quality_filter_drops_broken_code(real_llm):
    result = run_operator(CodeQualityScoreFilter(min_score=7), [GOOD, BROKEN], serving=real_llm)
    assert [r["code"] for r in result.kept] == [GOOD["code"]], result.dropped
    assert result.drop_reasons[0].startswith("quality_score < 7")
