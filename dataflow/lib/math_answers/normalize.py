"""Canonical string form of a final answer, for voting keys and display."""

from __future__ import annotations

import re

from dataflow.lib.math_answers.numeric import clean_surface, number_to_text, parse_number
from dataflow.lib.math_answers.parse import Answer, boolean_value, is_wordy, parse_answer, text_key


def _render(answer: Answer) -> str:
    if answer.kind == "ordered":
        return answer.brackets[0] + ", ".join(_render(item) for item in answer.items) + answer.brackets[1]
    if answer.kind == "unordered":
        return "{" + ", ".join(sorted(_render(item) for item in answer.items)) + "}"
    number = parse_number(answer.text)
    if number is not None:
        return number_to_text(number.value) + ("%" if number.percent else "")
    boolean = boolean_value(answer.text)
    if boolean is not None:
        return "yes" if boolean else "no"
    if is_wordy(answer.text):
        return text_key(answer.text)
    return re.sub(r"\s+", "", answer.text)


def normalize_answer(ans: str) -> str:
    """Canonical string form of an answer, for voting keys and display.

    Numbers become exact canonical text (``$1,200.50`` -> ``1200.5``, ``\\frac{6}{8}`` -> ``3/4``,
    ``9 (apples)`` -> ``9``, ``25\\%`` -> ``25%``); sets and answer lists are sorted inside ``{}``;
    tuples and intervals keep order and brackets; text is lower-cased without punctuation or
    articles; other LaTeX loses its presentation macros and whitespace. Never raises.
    """
    if not isinstance(ans, str):
        return ""
    try:
        cleaned = clean_surface(ans)
        return _render(parse_answer(cleaned)) if cleaned else ""
    except Exception:
        return ans.strip()

