"""What the LLM operators of the reasoning domain share: the question as the template's ``question``,
and blank questions rejected without a call."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Reject

__all__ = ["QuestionPrompts", "is_blank"]


def is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


class QuestionPrompts:
    """Mixed into an LLM kind: the template's ``question`` is the ``input_key`` column, and rows whose
    question is blank are rejected (``empty question``) without a call."""

    prompt_inputs = {"question": "input_key"}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        prompts = super().prompts(batch, ctx)  # type: ignore[misc]
        questions = batch[ctx.cols.input_key].tolist()
        return [Reject("empty question") if is_blank(q) else p for q, p in zip(questions, prompts)]
