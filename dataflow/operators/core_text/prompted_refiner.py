"""LLM rewriting of a text column."""

from __future__ import annotations

from typing import Any

from dataflow.core.llm_operator import LLMRefiner
from dataflow.core.registry import register_operator

DEFAULT_TEMPLATE = "core_text/refine"


@register_operator
class PromptedRefiner(LLMRefiner):
    """Rewrites ``input_key`` with the LLM, following ``instruction`` (in place unless ``output_key``).

    The prompt is the template ``prompt_template`` (default ``core_text/refine``) rendered with
    ``instruction`` and ``text``. Rows whose call fails, or that come back empty, keep nothing: they go to
    the rejects with the reason, so a failed rewrite never passes as a rewritten text.
    """

    prompt_inputs = {"text": "input_key"}
    provided_variables = frozenset({"instruction"})

    def __init__(self, instruction: str = "Fix spelling and grammar. Keep the meaning and the language.",
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 1024, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, llm_serving=llm_serving)
        self.instruction = instruction

    def prompt_values(self, batch: Any, ctx: Any) -> dict[str, Any]:
        return {"instruction": self.instruction}
