"""Keeps answers equivalent to the gold answer (math-aware comparison)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import BatchResult, Filter, InputColumn, OutputColumn, split_dropped
from dataflow.core.registry import register_operator
from dataflow.lib.math_answers import answers_equivalent, extract_final_answer

_SHOWN_CHARS = 60


def _shown(answer: str) -> str:
    answer = " ".join(answer.split())
    return answer if len(answer) <= _SHOWN_CHARS else answer[: _SHOWN_CHARS - 3] + "..."


def _final(value: Any, extract: bool) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    if extract:
        found = extract_final_answer(value)
        if found is not None:
            return found
    return value.strip()


@register_operator
class ReasoningAnswerGroundTruthFilter(Filter):
    """Keeps rows whose answer (``input_key``) is mathematically equivalent to the gold answer.

    The comparison is ``dataflow.lib.math_answers.answers_equivalent``: exact numbers (``1,234`` = ``1234.0``
    = ``$1,234``), fractions and LaTeX (``\\frac{3}{4}`` = ``0.75``), units ignored, percent, sets and
    intervals, symbolic equality with sympy under a time limit. Dropped rows carry the reason
    ``no final answer`` (the answer is missing) or ``answer X != gold Y``. Rows without a gold answer
    are dropped with ``no gold answer``, or kept untouched with ``keep_without_gold`` (to verify them
    by another route, such as :class:`ReasoningPseudoAnswerGenerator`). With ``extract``, both values
    may be whole solutions: the final answer is extracted first (``\\boxed{}``, ``####``, "The answer
    is"), falling back to the text itself. ``output_key`` (optional) receives True/False per judged
    row and null for rows without gold.
    """

    input_key = InputColumn("extracted_answer", "str", nullable=True)
    input_gold_key = InputColumn("gold_answer", "str", nullable=True)
    output_key = OutputColumn(None, "bool", description="the verdict (null without gold)")

    def __init__(self, keep_without_gold: bool = False, extract: bool = False, rel_tol: float = 1e-6,
                 timeout_s: float = 2.0) -> None:
        super().__init__()
        self.keep_without_gold = keep_without_gold
        self.extract = extract
        self.rel_tol = rel_tol
        self.timeout_s = timeout_s

    def _judge(self, answer: Any, gold: Any) -> tuple[bool | None, str]:
        gold_text = _final(gold, self.extract)
        if gold_text is None:
            return None, "no gold answer"
        answer_text = _final(answer, self.extract)
        if answer_text is None:
            return False, "no final answer"
        if answers_equivalent(answer_text, gold_text, rel_tol=self.rel_tol, timeout_s=self.timeout_s):
            return True, ""
        return False, f"answer {_shown(answer_text)} != gold {_shown(gold_text)}"

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        answers = batch[ctx.cols.input_key].tolist()
        golds = batch[ctx.cols.input_gold_key].tolist()
        judged = [self._judge(a, g) for a, g in zip(answers, golds)]
        verdicts = [v for v, _ in judged]
        mask = np.array([v is True or (v is None and self.keep_without_gold) for v in verdicts], dtype=bool)
        reasons = np.array([why for _, why in judged], dtype=object)
        frame, written = batch, []
        if ctx.cols.get("output_key"):
            frame = batch.assign(**{ctx.cols.output_key: pd.Series(verdicts, dtype=object, index=batch.index)})
            written = [ctx.cols.output_key]
        return split_dropped(frame, mask, reasons, written)
