"""LLM cleaning of document chunks, with guards against answers that lost the content."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMRefiner, Reject, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator

DEFAULT_TEMPLATE = "knowledge/clean_text"
_TAGGED = re.compile(r"<cleaned>\s*(.*?)\s*(?:</cleaned>|$)", re.DOTALL | re.IGNORECASE)
_WRAPPING_FENCE = re.compile(r"^```(?:markdown|md|text)?\s*\n(.*)\n```$", re.DOTALL)


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _repeats_itself(text: str) -> bool:
    """A decoding loop: at least 6 lines, under a third of them distinct."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return len(lines) >= 6 and 3 * len(set(lines)) < len(lines)


@register_operator
class KBCTextCleaner(LLMRefiner):
    """Cleans each chunk in ``input_key`` with the LLM into ``output_key``: markup, headers and footers,
    broken lines and garbled characters removed, facts, headings, lists, tables and code kept (template
    ``knowledge/clean_text``; the answer is read between ``<cleaned>`` and ``</cleaned>``, or whole when the
    model left the tags out; a Markdown fence around all of it is removed).

    Guards, each rejecting the row with ``invalid answer: <why>`` so that a bad answer never replaces a
    chunk: an empty answer; a garbled one (more U+FFFD replacement characters than the input, or a
    decoding loop: 6+ lines, under a third distinct, where the input had no such repetition); and the
    length guard: the answer's letters and digits must be ``min_length_ratio``..``max_length_ratio``
    times the input's (default 0.5..1.5), since cleaning removes markup and debris but never most of the
    content, and adds none. Empty input rows are not sent; their output is null.
    """

    input_key = InputColumn("raw_chunk", "str", nullable=True)
    output_key = OutputColumn("cleaned_chunk", "str")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"text": "input_key"}

    def __init__(self, min_length_ratio: float = 0.5, max_length_ratio: float = 1.5,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 1024, seed: int | None = None,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.min_length_ratio, self.max_length_ratio = min_length_ratio, max_length_ratio

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        texts = column_texts(batch, ctx.cols.input_key)
        return [p if t.strip() else None for p, t in zip(super().prompts(batch, ctx), texts)]

    def parse(self, answer: LLMResult) -> Any:
        text = (answer.text or "").strip()
        tagged = _TAGGED.search(text)
        text = tagged.group(1).strip() if tagged else text
        fenced = _WRAPPING_FENCE.match(text)
        text = fenced.group(1).strip() if fenced else text
        return {"output_key": text} if text else Reject("invalid answer: empty")

    def problem(self, answer: str, source: str) -> str | None:
        """Why ``answer`` cannot stand for the cleaned ``source`` (None when it can)."""
        if answer.count("\ufffd") > source.count("\ufffd"):
            return "garbled: replacement characters"
        if _repeats_itself(answer) and not _repeats_itself(source):
            return "garbled: the answer repeats itself"
        ratio = _alnum(answer) / max(_alnum(source), 1)
        if ratio < self.min_length_ratio:
            return f"dropped content: {ratio:.2f} of the input's letters and digits < {self.min_length_ratio}"
        if ratio > self.max_length_ratio:
            return f"added content: {ratio:.2f} of the input's letters and digits > {self.max_length_ratio}"
        return None

    def refine_rows(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        answers = self.ask(batch, ctx)
        for i, source in enumerate(column_texts(batch, ctx.cols.input_key)):
            if isinstance(answers[i], dict) and (why := self.problem(answers[i]["output_key"], source)):
                answers[i] = Reject(f"invalid answer: {why}")
        return self.answer_columns(answers, ctx.cols)
