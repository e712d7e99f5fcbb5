"""Plumbing shared by the general-text LLM operators: templates with operator-supplied variables,
bounded JSON schemas, rejected rows and row expansion from parsed answers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import REJECT_REASON, BatchResult, expand_rows
from dataflow.operators.core_text._llm import TemplatedLLM

__all__ = ["CHARS_PER_TOKEN", "TemplatedLLM"]  # TemplatedLLM is re-exported for the operators here

# Upper bound on characters per token used to size ``max_tokens`` from a schema's string bounds.
# English text runs ~4 characters per token; 3 leaves room for JSON escapes and punctuation-heavy text.
CHARS_PER_TOKEN = 3


def text_of(value: Any) -> str:
    """A cell as prompt text: missing values (None, NaN) become the empty string."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def column_texts(batch: pd.DataFrame, column: str | None) -> list[str]:
    if not column:
        return [""] * len(batch)
    return [text_of(v) for v in batch[column].tolist()]


def bounded_string(max_chars: int, min_chars: int = 1) -> dict[str, Any]:
    return {"type": "string", "minLength": min_chars, "maxLength": max_chars}


def rating_schema(min_score: int, max_score: int, max_reason_chars: int = 300) -> dict[str, Any]:
    """``{"reason": str, "score": int}``: the score one of the integers in range (an enum constrains the
    grammar exactly), the reason bounded."""
    return {
        "type": "object",
        "properties": {
            "reason": bounded_string(max_reason_chars),
            "score": {"type": "integer", "enum": list(range(min_score, max_score + 1))},
        },
        "required": ["reason", "score"],
        "additionalProperties": False,
    }


def token_budget(max_chars: int, overhead: int = 32) -> int:
    """``max_tokens`` large enough that an answer within ``max_chars`` characters is never cut."""
    return max_chars // CHARS_PER_TOKEN + overhead


def rejected_rows(batch: pd.DataFrame, failures: dict[int, str]) -> pd.DataFrame | None:
    """Rows of ``batch`` (by position) that could not be processed, each with its reason."""
    if not failures:
        return None
    bad = sorted(failures)
    return batch.iloc[bad].assign(**{REJECT_REASON: [failures[i] for i in bad]})


def llm_failures(results: list[Any]) -> dict[int, str]:
    return {i: f"llm: {r.error}" for i, r in enumerate(results) if r.error is not None}


def expand_children(batch: pd.DataFrame, children: dict[int, list[dict[str, Any]]], columns: list[str],
                    failures: dict[int, str], no_output_reason: str) -> BatchResult:
    """New rows from parsed answers: ``children[i]`` holds the rows made from input row ``i``.

    Each child copies its parent's columns and gets ``columns`` from its dict (child ids are
    ``<parent id>.<k>``). Parents in ``failures`` go to the rejects with the reason; parents without
    children are dropped with ``no_output_reason``.
    """
    ok = [i for i in range(len(batch)) if i not in failures]
    parents: list[int] = []
    values: dict[str, list[Any]] = {c: [] for c in columns}
    for position, i in enumerate(ok):
        for child in children.get(i, []):
            parents.append(position)
            for c in columns:
                values[c].append(child.get(c))
    produced = pd.DataFrame({"_parent": parents, **values}) if parents else pd.DataFrame(
        {"_parent": pd.Series([], dtype="int64"), **{c: pd.Series([], dtype=object) for c in columns}})
    result = expand_rows(batch.iloc[ok], produced, no_output_reason)
    result.written = list(columns)
    result.rejected = rejected_rows(batch, failures)
    return result
