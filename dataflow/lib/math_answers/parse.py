"""The structure of a final answer: a scalar, an unordered collection, or an ordered bracketed tuple.

``parse_answer`` reads a cleaned answer (see ``numeric.clean_surface``): ``\\{1,2\\}`` and ``{2, 1}`` are
sets; ``(1, 2]`` and ``[a, b)`` are intervals / tuples; several answers (``x=2 or x=3``, ``3, 2``,
``2 \\pm \\sqrt{3}``) form an unordered collection; ``x = 5`` is ``5`` when its left side is a lone
variable; ``x > 3`` / ``1 < x \\le 2`` become intervals. A comma between digit groups of three at top
level is a thousands separator, not a separator of answers. Also the text helpers that equality and
normalisation share (``text_key``, ``boolean_value``, ``is_wordy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dataflow.lib.math_answers.numeric import parse_number

_OPEN = "([{"
_CLOSE = ")]}"
_TRUE_WORDS = {"yes", "true", "correct", "right"}
_FALSE_WORDS = {"no", "false", "incorrect", "wrong"}
_ARTICLES = {"a", "an", "the"}
_MATH_WORDS = {"sqrt", "sin", "cos", "tan", "log", "ln", "exp", "pi", "inf", "infty", "infinity", "frac"}
_LOWER = r"(?:<|\\le(?:q|qslant)?\b|<=|≤)"
_STRICT_LOWER = {"<"}
_GREATER = r"(?:>|\\ge(?:q|qslant)?\b|>=|≥)"
_VARIABLE = r"(?:[A-Za-z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)"


@dataclass(frozen=True)
class Answer:
    """A parsed answer: a scalar (text), an unordered collection, or an ordered bracketed tuple."""

    kind: str  # "scalar" | "unordered" | "ordered"
    text: str = ""
    items: tuple[Answer, ...] = ()
    brackets: str = ""  # "()", "[)", ... for ordered


def _top_level_split(text: str, separators: re.Pattern[str]) -> list[str]:
    """Split at separator matches that are outside every bracket pair."""
    depth = 0
    pieces = []
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            match = separators.match(text, i)
            if match and match.end() > i:
                pieces.append(text[start:i])
                start = i = match.end()
                continue
        i += 1
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces]


def _wraps_whole(text: str) -> bool:
    """True when the bracket opening ``text`` closes at its last character."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


# Element separators inside explicit brackets: every comma (and ";").
_ITEM_SEPARATORS = re.compile(r"\s*[,;]\s*")
# Top-level separators: ",", ";", "or", "and"; a comma between digit groups of three is a
# thousands separator, not a separator of answers.
_ANSWER_SEPARATORS = re.compile(
    r"(?:\s*;\s*|(?<!\d),\s*|,(?!\d{3}(?!\d))\s*|(?<=\d),\s+|\s+(?:or|and)\s+|\s*\\(?:lor|vee)\s*)"
)


def parse_answer(text: str, depth: int = 0) -> Answer:
    text = text.strip()
    if depth > 6 or not text:
        return Answer("scalar", text)
    # \{1, 2\} and {1, 2}: sets.
    if text.startswith("\\{") and text.endswith("\\}"):
        inner = text[2:-2]
        return Answer("unordered", items=_parse_items(inner, depth))
    if text.startswith("{") and text.endswith("}") and _wraps_whole(text):
        inner = text[1:-1]
        if "," in inner or ";" in inner:
            return Answer("unordered", items=_parse_items(inner, depth))
        return parse_answer(inner, depth + 1)
    # (a, b], [a, b], (a, b): ordered, bracket kinds matter.
    if text[0] in "([" and text[-1] in ")]" and _wraps_whole(text):
        inner = text[1:-1]
        items = _parse_items(inner, depth)
        if len(items) > 1:
            return Answer("ordered", items=items, brackets=text[0] + text[-1])
        if text[0] == "(" and text[-1] == ")":
            return parse_answer(inner, depth + 1)
    pieces = [piece for piece in _top_level_split(text, _ANSWER_SEPARATORS) if piece]
    if len(pieces) > 1:
        return Answer("unordered", items=tuple(parse_answer(piece, depth + 1) for piece in pieces))
    if parse_number(text) is not None:
        return Answer("scalar", text)
    inequality = _inequality_interval(text)
    if inequality is not None:
        return inequality
    # "x = 5", "x_1 = 2": the value is the right-hand side.
    sides = _top_level_split(text, re.compile(r"\s*(?<![<>!\\])=(?!=)\s*"))
    if len(sides) > 1 and all(re.fullmatch(_VARIABLE, side) for side in sides[:-1]) and sides[-1]:
        return parse_answer(sides[-1], depth + 1)
    plus_minus = re.fullmatch(r"(.+?)\s*(?:\\pm|±)\s*(.+)", text)
    if plus_minus:
        base, offset = plus_minus.groups()
        return Answer(
            "unordered",
            items=(Answer("scalar", f"{base}+{offset}"), Answer("scalar", f"{base}-{offset}")),
        )
    return Answer("scalar", text)


def _parse_items(inner: str, depth: int) -> tuple[Answer, ...]:
    return tuple(parse_answer(piece, depth + 1) for piece in _top_level_split(inner, _ITEM_SEPARATORS) if piece)


def _inequality_interval(text: str) -> Answer | None:
    """``x > 3`` -> ``(3, \\infty)``; ``1 < x \\le 2`` -> ``(1, 2]``."""
    both = re.fullmatch(rf"(.+?)\s*({_LOWER})\s*{_VARIABLE}\s*({_LOWER})\s*(.+)", text)
    if both:
        low, low_op, high_op, high = both.groups()
        brackets = ("(" if low_op in _STRICT_LOWER else "[") + (")" if high_op in _STRICT_LOWER else "]")
        return Answer("ordered", items=(parse_answer(low, 7), parse_answer(high, 7)), brackets=brackets)
    greater = re.fullmatch(rf"{_VARIABLE}\s*({_GREATER})\s*(.+)", text)
    if greater:
        op, bound = greater.groups()
        bracket = "(" if op == ">" else "["
        return Answer(
            "ordered", items=(parse_answer(bound, 7), Answer("scalar", "\\infty")), brackets=bracket + ")"
        )
    lower = re.fullmatch(rf"{_VARIABLE}\s*({_LOWER})\s*(.+)", text)
    if lower:
        op, bound = lower.groups()
        bracket = ")" if op == "<" else "]"
        return Answer(
            "ordered", items=(Answer("scalar", "-\\infty"), parse_answer(bound, 7)), brackets="(" + bracket
        )
    return None


def text_key(text: str) -> str:
    """Case-, punctuation-, whitespace- and article-insensitive form of a text answer."""
    text = text.lower().replace(".", "").replace("'", "").replace("’", "")
    words = re.sub(r"[^\w]+", " ", text).split()
    return " ".join(word for word in words if word not in _ARTICLES)


def boolean_value(text: str) -> bool | None:
    key = text_key(text)
    if key in _TRUE_WORDS:
        return True
    if key in _FALSE_WORDS:
        return False
    return None


def is_wordy(text: str) -> bool:
    """True when the answer contains an English word, not only math."""
    words = re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", text)
    return any(word.lower() not in _MATH_WORDS for word in words)

