"""The final answer of a solution text: ``\\boxed{}``, ``#### N`` or "The answer is ..."."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.math_answers import extract_final_answer, normalize_answer


@register_operator
class ReasoningAnswerExtractionGenerator(Generator):
    """Writes the final answer stated in a solution text to ``output_key`` (null when none is stated).

    Looks, in this order, for the last ``\\boxed{...}`` (nested braces allowed), the last GSM8K
    ``#### N`` line, and the last "The (final) answer is ..." / "Final answer: ..." phrase, and strips
    ``$``, bold and trailing punctuation (see ``dataflow.lib.math_answers.extract``). With
    ``normalize`` the answer is rewritten in canonical form (``$1,200.50`` -> ``1200.5``,
    ``\\frac{6}{8}`` -> ``0.75``). Drops nothing: use :class:`ReasoningAnswerFormatterFilter` to drop
    solutions without a final answer. Also reads gold answers out of reference solutions (GSM8K).
    """

    input_key = InputColumn("generated_cot", "str", nullable=True)
    output_key = OutputColumn("extracted_answer", "str")

    def __init__(self, normalize: bool = False) -> None:
        super().__init__()
        self.normalize = normalize

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        answers = [extract_final_answer(t) if isinstance(t, str) else None for t in batch[ctx.cols.input_key]]
        if self.normalize:
            answers = [normalize_answer(a) or None if a is not None else None for a in answers]
        return {ctx.cols.output_key: answers}
