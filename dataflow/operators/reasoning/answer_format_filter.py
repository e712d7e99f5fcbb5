"""Drops solutions that do not end in a well-formed final answer."""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd

from dataflow.core.operator import Filter, InputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.math_answers.extract import balanced_group, extract_final_answer

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")


def boxed_problem(text: str) -> str | None:
    """Why the ``\\boxed{}`` answers of ``text`` are not usable, or None when the last one is well formed."""
    starts = [m for m in _BOX.finditer(text)]
    if not starts:
        return "no \\boxed{} final answer"
    last = starts[-1]
    if last.end() >= len(text) or text[last.end()] != "{":
        return "malformed \\boxed: no {...} argument"
    group = balanced_group(text, last.end())
    if group is None:
        return "malformed \\boxed{}: unbalanced braces"
    if not group[0].strip():
        return "empty \\boxed{}"
    return None


@register_operator
class ReasoningAnswerFormatterFilter(Filter):
    """Keeps solutions that state a well-formed final answer; drops the rest with the reason.

    ``answer_format="boxed"`` (default) requires a last ``\\boxed{...}`` with balanced braces and
    non-empty content; reasons: ``empty answer``, ``no \\boxed{} final answer``, ``malformed \\boxed{}:
    unbalanced braces``, ``malformed \\boxed: no {...} argument``, ``empty \\boxed{}``.
    ``answer_format="any"`` accepts any form :class:`ReasoningAnswerExtractionGenerator` reads
    (``\\boxed{}``, ``#### N``, "The answer is ...") and drops with ``no final answer`` otherwise.
    """

    input_key = InputColumn("generated_cot", "str", nullable=True)

    def __init__(self, answer_format: Literal["boxed", "any"] = "boxed") -> None:
        super().__init__()
        self.answer_format = answer_format

    def _problem(self, text: Any) -> str | None:
        if not isinstance(text, str) or not text.strip():
            return "empty answer"
        if self.answer_format == "boxed":
            return boxed_problem(text)
        if _BOX.search(text):
            problem = boxed_problem(text)
            if problem is not None:
                return problem
        return None if extract_final_answer(text) else "no final answer"

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        problems = [self._problem(t) for t in batch[ctx.cols.input_key].tolist()]
        mask = np.array([p is None for p in problems], dtype=bool)
        return mask, np.array([p or "" for p in problems], dtype=object)
