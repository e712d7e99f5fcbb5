"""Alpagasus-style rating of instruction-tuning triples (instruction, input, response)."""

from __future__ import annotations

from typing import Any

from dataflow.core.llm_operator import LLMEvaluator, LLMFilter
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.core_text.prompted_filter import ScaleScoring
from dataflow.operators.general_text.llm._shared import rating_schema

DEFAULT_TEMPLATE = "general_text/alpagasus"


class _TripleRating(ScaleScoring):
    """The triple's columns go to the template as ``instruction``, ``input`` and ``response``."""

    prompt_inputs = {"instruction": "input_instruction_key", "input": "input_input_key",
                     "response": "input_output_key"}
    provided_variables = frozenset({"min_score", "max_score"})
    input_instruction_key = InputColumn("instruction", "str")
    input_input_key = InputColumn(None, "str", nullable=True, description="optional context of the instruction")
    input_output_key = InputColumn("output", "str")
    output_key = OutputColumn("alpagasus_score", "int")
    output_reason_key = OutputColumn("alpagasus_reason", "str")

    def schema(self) -> dict[str, Any]:
        return rating_schema(self.min_score, self.max_score)


@register_operator
class AlpagasusScorer(_TripleRating, LLMEvaluator):
    """Rates each (instruction, input, response) triple for accuracy and helpfulness, AlpaGasus style.

    The LLM answers a JSON schema ``{"reason": str (<= 300 chars), "score": int in [min_score,
    max_score]}``, validated by the serving; the score goes to ``output_key`` and the reason to
    ``output_reason_key``. ``input_input_key`` is optional (bind it for Alpaca-style data with a
    separate input field). Drops nothing; rows whose answer stays invalid go to the rejects with the
    reason. The template (``general_text/alpagasus`` by default) receives ``instruction``, ``input``,
    ``response``, ``min_score`` and ``max_score``; any other variable it uses is read from a column.
    """

    def __init__(self, min_score: int = 1, max_score: int = 5, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, max_tokens: int = 192, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.set_scale(min_score, max_score)


@register_operator
class AlpagasusFilter(_TripleRating, LLMFilter):
    """Like :class:`AlpagasusScorer`, then keeps the triples scoring at least ``threshold``.

    Dropped rows carry the reason ``alpagasus_score < threshold`` (the score column's name) and keep
    the score and the model's reason in the cache, so ``dataflow inspect`` shows why.
    """

    def __init__(self, threshold: int = 4, min_score: int = 1, max_score: int = 5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 max_tokens: int = 192, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.set_scale(min_score, max_score)
        if not min_score <= threshold <= max_score:
            raise ValueError("threshold must lie within [min_score, max_score]")
        self.threshold = threshold
