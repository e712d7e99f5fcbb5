"""Alpagasus-style rating of instruction-tuning triples (instruction, input, response)."""

from __future__ import annotations

from typing import Any

import numpy as np

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
    """Like :class:`AlpagasusScorer` (the LLM rates each triple on ``scale``, 1-5 by default), then keeps
    the triples scoring within ``[min_score, max_score]``, as the reference DataFlow's operator does
    (defaults 3 and 5). ``threshold``, when given, is the lowest score kept (it takes the place of
    ``min_score``; our pipelines use it).

    Dropped rows carry the reason ``alpagasus_score < 3`` (or ``> max_score``; the score column's name)
    and keep the score and the model's reason in the cache, so ``dataflow inspect`` shows why. The
    reference asks for a score from 0 to 5; ours from ``scale``'s low end, since 0 and 1 both mean
    "unusable" and fall below any useful ``min_score``.
    """

    def __init__(self, min_score: int = 3, max_score: int = 5, threshold: int | None = None,
                 scale: tuple[int, int] = (1, 5), prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, max_tokens: int = 192, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, max_tokens=max_tokens, llm_serving=llm_serving)
        self.set_scale(*scale)  # the rating scale: the prompt's and the schema's min_score/max_score
        self.keep_min = min_score if threshold is None else threshold
        self.keep_max = max_score
        if not scale[0] <= self.keep_min <= self.keep_max <= scale[1]:
            raise ValueError(f"need {scale[0]} <= min_score (or threshold) <= max_score <= {scale[1]}")

    def keep(self, batch: Any, scores: dict[str, Any], ctx: Any) -> Any:
        values = np.asarray(scores["output_key"], dtype=float)
        reasons = np.where(values < self.keep_min, f"{ctx.cols.output_key} < {self.keep_min}",
                           f"{ctx.cols.output_key} > {self.keep_max}")
        return (values >= self.keep_min) & (values <= self.keep_max), reasons
