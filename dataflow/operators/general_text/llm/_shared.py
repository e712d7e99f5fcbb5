"""Pieces shared by the general-text LLM operators: bounded JSON schemas, token budgets, pair cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Upper bound on characters per token used to size ``max_tokens`` from a schema's string bounds.
# English text runs ~4 characters per token; 3 leaves room for JSON escapes and punctuation-heavy text.
CHARS_PER_TOKEN = 3


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


def pairs_budget(count: int, name: str, max_first_chars: int, max_second_chars: int, max_tokens: int | None
                 ) -> int:
    """``max_tokens`` of a call asking for ``count`` pairs of bounded strings (``name`` is the param, which
    must lie in 1..50): the given one, or a budget that such an answer fits (40 characters of JSON a pair)."""
    if not 1 <= count <= 50:
        raise ValueError(f"{name} must be between 1 and 50")
    return max_tokens or token_budget(count * (max_first_chars + max_second_chars + 40))


def distinct_pairs(items: list[dict[str, Any]], first: str, second: str) -> Iterator[tuple[str, str]]:
    """(first, second) of each item, stripped; items with a blank side or repeating an earlier ``first``
    (ignoring case and spacing) are skipped."""
    seen: set[str] = set()
    for item in items:
        a, b = item[first].strip(), item[second].strip()
        key = " ".join(a.lower().split())
        if a and b and key not in seen:
            seen.add(key)
            yield a, b
