"""Condor-style refinement of SFT responses: critique, then rewrite with the critique."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Bindings, Column, InputColumn, OutputColumn, Refiner
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask
from dataflow.operators.general_text.llm._shared import (
    TemplatedLLM,
    bounded_string,
    column_texts,
    llm_failures,
    rejected_rows,
    token_budget,
)


def single_field_schema(name: str, max_chars: int, min_chars: int = 2) -> dict[str, Any]:
    """``{name: str}`` with the string's length bounded."""
    return {"type": "object", "properties": {name: bounded_string(max_chars, min_chars)},
            "required": [name], "additionalProperties": False}


@register_operator
class CondorRefiner(TemplatedLLM, Refiner):
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

    resources = ("llm",)
    provided_variables = frozenset({"instruction", "response", "critique", "max_critique_words",
                                    "max_response_words"})
    input_key = InputColumn("output", "str", description="the response to improve")
    input_instruction_key = InputColumn("instruction", "str")
    output_key = OutputColumn(None, "str", description="defaults to input_key (in place)")
    output_critique_key = OutputColumn("critique", "str")

    def __init__(self, max_critique_chars: int = 600, max_response_chars: int = 1200,
                 critique_template: str = "general_text/condor_critique",
                 prompt_template: str = "general_text/condor_refine", system_prompt: str | None = None,
                 temperature: float = 0.0, seed: int | None = 0, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.max_critique_chars, self.max_response_chars = max_critique_chars, max_response_chars
        self.critique_template, self.prompt_template = critique_template, prompt_template
        self.system_prompt, self.temperature, self.seed = system_prompt, temperature, seed
        self._setup_template()
        self._critique_template = resolve_template(critique_template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)
        extra = self._critique_template.columns(self.provided_variables)
        cols.update({c: Column(c, "input", "any") for c in extra})
        return cols

    def critique_schema(self) -> dict[str, Any]:
        return single_field_schema("critique", self.max_critique_chars)

    def response_schema(self) -> dict[str, Any]:
        return single_field_schema("response", self.max_response_chars)

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        cols = ctx.cols
        instructions = column_texts(batch, cols.input_instruction_key)
        responses = column_texts(batch, cols.input_key)
        sampling = {"system": self.system_prompt, "temperature": self.temperature, "seed": self.seed}
        critique_prompts = self.render_prompts(batch, self._critique_template, instruction=instructions,
                                               response=responses,
                                               max_critique_words=self.max_critique_chars // 7)
        critiques = ask(ctx, critique_prompts, json_schema=self.critique_schema(),
                        max_tokens=token_budget(self.max_critique_chars), **sampling)
        failures = {i: f"critique {reason}" for i, reason in llm_failures(critiques).items()}
        todo = [i for i in range(len(batch)) if i not in failures]
        critique_texts = [critiques[i].parsed["critique"].strip() if i in todo else "" for i in range(len(batch))]
        refine_prompts = self.render_prompts(batch.iloc[todo], instruction=[instructions[i] for i in todo],
                                             response=[responses[i] for i in todo],
                                             critique=[critique_texts[i] for i in todo],
                                             max_response_words=self.max_response_chars // 7)
        rewrites = ask(ctx, refine_prompts, json_schema=self.response_schema(),
                       max_tokens=token_budget(self.max_response_chars), **sampling)
        refined: dict[int, str] = {}
        for i, result in zip(todo, rewrites):
            text = (result.parsed or {}).get("response", "").strip() if result.error is None else ""
            if result.error is not None:
                failures[i] = f"rewrite llm: {result.error}"
            elif not text:
                failures[i] = "rewrite: empty response"
            else:
                refined[i] = text
        ok = [i for i in range(len(batch)) if i not in failures]
        written = {cols.output_key: [refined[i] for i in ok]}
        if cols.get("output_critique_key"):
            written[cols.output_critique_key] = [critique_texts[i] for i in ok]
        return BatchResult(batch.iloc[ok].assign(**written), written=list(written),
                           rejected=rejected_rows(batch, failures))
