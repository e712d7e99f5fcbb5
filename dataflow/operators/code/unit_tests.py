"""Unit tests for code that has none, written by the LLM as ``assert`` lines."""

from __future__ import annotations

import ast
import warnings
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator

DEFAULT_SYSTEM_PROMPT = "You are a meticulous Python tester. You answer with assert statements only."


def _parse(text: str) -> ast.Module | None:
    with warnings.catch_warnings():  # invalid escape sequences in a string: still valid code
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            return None


def assert_statements(text: str) -> list[str]:
    """The syntactically valid ``assert`` statements of an answer, in order, without repeats.

    The top-level asserts when the whole answer (code fences removed) parses; otherwise every line that
    parses on its own as one assert (so prose around the tests, or an indented test function's body,
    costs nothing)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("```")]
    body = "\n".join(lines)
    tree = _parse(body)
    found = [ast.get_source_segment(body, node) for node in (tree.body if tree else [])
             if isinstance(node, ast.Assert)]
    if not found:
        for line in (line.strip() for line in lines):
            tree = _parse(line) if line.startswith("assert") else None
            if tree and len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
                found.append(line)
    return list(dict.fromkeys(found))


def defined_names(code: str) -> set[str]:
    """Functions and classes the code defines at top level (empty when it does not parse)."""
    tree = _parse(code)
    return {node.name for node in (tree.body if tree else [])
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def calls_any(statement: str, names: set[str]) -> bool:
    tree = _parse(statement)
    return tree is not None and any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                                    and node.func.id in names for node in ast.walk(tree))


@register_operator
class CodeUnitTestGenerator(LLMGenerator):
    """Asks the LLM for ``assert`` lines that test the code in ``input_key``; writes them to ``output_key``.

    The prompt (``code/unit_tests``) shows the code, and the task it solves when ``input_instruction_key``
    is bound (default ``instruction``; bind it to null when there is none), and asks for ``num_tests``
    asserts that call the code's function with concrete arguments. The answer is read with Python's
    parser: only syntactically valid ``assert`` statements are kept, at most ``num_tests``, one per line,
    and, when the code defines top-level functions or classes, only those that call one of them (an
    assert that does not exercise the code would pass anything). An answer left with none is rejected
    (``invalid answer: ...``); rows with blank code are rejected without a call (``no code``). The
    output feeds :class:`CodeSandboxSampleEvaluator` / :class:`CodeTestPassFilter` (``input_test_key``).
    """

    default_template = "code/unit_tests"
    prompt_inputs = {"code": "input_key", "instruction": "input_instruction_key"}
    provided_variables = frozenset({"num_tests"})
    input_key = InputColumn("code", "str", nullable=True)
    input_instruction_key = InputColumn("instruction", "str", nullable=True)
    output_key = OutputColumn("test", "str", description="assert statements, one per line")

    def __init__(self, num_tests: int = 5, prompt_template: str = "code/unit_tests",
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, temperature: float = 0.0,
                 max_tokens: int = 512, seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        if num_tests < 1:
            raise ValueError("num_tests must be at least 1")
        self.num_tests = num_tests

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"num_tests": self.num_tests}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        codes = batch[ctx.cols.input_key].tolist()
        prompts = super().prompts(batch, ctx)
        return [p if isinstance(c, str) and c.strip() else Reject("no code") for c, p in zip(codes, prompts)]

    def parse(self, answer: Any) -> dict[str, Any]:
        found = assert_statements(answer.text or "")
        if not found:
            raise ValueError("no valid assert statement in the answer")
        return {"output_key": found}

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        tests = []
        for code, answer in zip(batch[ctx.cols.input_key].tolist(), self.ask(batch, ctx)):
            if isinstance(answer, Reject) or answer is None:
                tests.append(answer)
                continue
            names = defined_names(code)
            found = [a for a in answer["output_key"] if not names or calls_any(a, names)]
            tests.append("\n".join(found[:self.num_tests]) if found else
                         Reject("invalid answer: no assert calls a function of the code"))
        return {ctx.cols.output_key: tests}
