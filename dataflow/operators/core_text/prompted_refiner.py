"""LLM rewriting of a text column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Refiner
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import ask, split_failures, template_or_none

DEFAULT_TEMPLATE = "core_text/refine"


@register_operator
class PromptedRefiner(Refiner):
    """Rewrites ``input_key`` with the LLM, following ``instruction`` (in place unless ``output_key``).

    The prompt is the template ``prompt_template`` (default ``core_text/refine``) rendered with
    ``instruction`` and ``text``. Rows whose call fails, or that come back empty, keep nothing: they go to
    the rejects with the reason, so a failed rewrite never passes as a rewritten text.
    """

    resources = ("llm",)

    def __init__(self, instruction: str = "Fix spelling and grammar. Keep the meaning and the language.",
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 1024, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.instruction = instruction
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._template = template_or_none(prompt_template)

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        texts = ["" if v is None else str(v) for v in batch[ctx.cols.input_key].tolist()]
        prompts = [self._template.render(instruction=self.instruction, text=t) for t in texts]
        results = ask(ctx, prompts, system=self.system_prompt, temperature=self.temperature,
                      max_tokens=self.max_tokens)
        empty = {i: "llm: empty answer" for i, r in enumerate(results) if r.error is None and not (r.text or "").strip()}
        return split_failures(batch, results, {ctx.cols.output_key: [(r.text or "").strip() for r in results]}, empty)
