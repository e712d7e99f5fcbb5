"""Condor-style refinement of SFT responses: critique, then rewrite with the critique."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMRefiner
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.operators.general_text.llm._shared import bounded_string, token_budget


def single_field_schema(name: str, max_chars: int, min_chars: int = 2) -> dict[str, Any]:
    """``{name: str}`` with the string's length bounded."""
    return {"type": "object", "properties": {name: bounded_string(max_chars, min_chars)},
            "required": [name], "additionalProperties": False}


@register_operator
class CondorRefiner(LLMRefiner):
    """Improves each response in two LLM calls (Condor's reflection step): the model first critiques the
    response to its instruction, then rewrites the response using that critique.

    Both answers are schema-constrained (``{"critique": str}``, then ``{"response": str}``) with bounded
    lengths (``max_critique_chars``, ``max_response_chars``); ``max_tokens`` of each call is sized so
    an answer within the bound is not cut. The critique goes to ``output_critique_key``; the improved
    response replaces ``input_key`` (in place) or goes to ``output_key``. Rows whose critique or rewrite
    stays invalid go to the rejects with the reason. Templates: ``critique_template`` receives
    ``instruction``, ``response`` and ``max_critique_words``; ``prompt_template`` (the rewrite) receives
    ``instruction``, ``response``, ``critique`` and ``max_response_words``.
    """

    prompt_inputs = {"instruction": "input_instruction_key", "response": "input_key"}
    provided_variables = frozenset({"critique", "max_critique_words", "max_response_words"})
    input_key = InputColumn("output", "str", description="the response to improve")
    input_instruction_key = InputColumn("instruction", "str")
    output_key = OutputColumn(None, "str", description="defaults to input_key (in place)")
    output_critique_key = OutputColumn("critique", "str")

    def __init__(self, max_critique_chars: int = 600, max_response_chars: int = 1200,
                 critique_template: str = "general_text/condor_critique",
                 prompt_template: str = "general_text/condor_refine", system_prompt: str | None = None,
                 temperature: float = 0.0, seed: int | None = 0, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, token_budget(max_response_chars), seed,
                         llm_serving)
        self.max_critique_chars, self.max_response_chars = max_critique_chars, max_response_chars
        self.critique_template = critique_template
        self.critique = resolve_template(critique_template)

    def critique_schema(self) -> dict[str, Any]:
        return single_field_schema("critique", self.max_critique_chars)

    def response_schema(self) -> dict[str, Any]:
        return single_field_schema("response", self.max_response_chars)

    schema = response_schema

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"max_critique_words": self.max_critique_chars // 7, "max_response_words": self.max_response_chars // 7}

    def parse(self, answer: Any) -> Any:
        text = answer.parsed.get("response", "").strip()
        return text or Reject("rewrite: empty response")

    def refine_rows(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        values = self.template_values(batch, ctx)
        critique_budget = token_budget(self.max_critique_chars)
        critiques = _named_failures("critique", self.ask(batch, ctx, [
            self.sampling.request(p, self.critique_schema(), max_tokens=critique_budget)
            for p in self.render_prompts(batch, self.critique, **values)],
            parse=lambda answer: answer.parsed["critique"].strip()))
        # The rewrite reads the critique; rows whose critique failed are not asked again.
        rewrite_prompts = self.render_prompts(batch, critique=[c if isinstance(c, str) else "" for c in critiques],
                                              **values)
        rewrites = _named_failures("rewrite", self.ask(batch, ctx, [
            c if isinstance(c, Reject) else p for c, p in zip(critiques, rewrite_prompts)]))
        return self.answer_columns([r if isinstance(r, Reject) else {"output_key": r, "output_critique_key": c}
                                    for r, c in zip(rewrites, critiques)], ctx.cols)


def _named_failures(call: str, answers: list[Any]) -> list[Any]:
    """Failed calls' rejects say which of the two calls failed (``critique llm: ...``)."""
    return [Reject(f"{call} {a.reason}") if isinstance(a, Reject) and a.reason.startswith("llm:") else a
            for a in answers]
