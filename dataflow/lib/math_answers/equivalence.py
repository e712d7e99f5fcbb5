"""Answer equivalence for math reasoning data: extraction, canonical form, equality, majority vote.

Pure functions, no LLM. They back the reasoning operators (ground-truth filter, pseudo-answer
generation, answer extraction).

How two answers are compared (``answers_equivalent``), after presentation is stripped (``\\boxed{}``,
``$``, ``\\text{}``, ``\\left``/``\\right``, ``\\!``/``\\,``, degrees, trailing punctuation):

* Structure first. ``\\{1,2\\}`` and ``{2, 1}`` are sets (order-insensitive). ``(1, 2]`` and
  ``[a, b)`` are intervals / tuples: order and bracket kind both matter, so ``(1,2)`` != ``[1,2]``.
  Several answers (``x=2 or x=3``, ``3, 2``, ``2 \\pm \\sqrt{3}``) form an unordered collection, and a
  bare list also equals a parenthesised tuple written in the same order. ``x = 5`` is the answer
  ``5`` when its left side is a lone variable. ``x > 3`` / ``1 < x \\le 2`` become intervals.
* Numbers are read exactly (``fractions.Fraction``): thousands separators (``1,234`` is one
  number at top level; inside brackets commas separate elements), currency, scientific notation,
  fractions, ``\\frac``/``\\dfrac``/``\\tfrac``, mixed numbers (``1 1/2``, ``1\\frac{1}{2}``).
  Equal when within ``rel_tol``.
* Units are ignored: ``9 (apples)``, ``5 cm``, ``12 dollars`` are the numbers 9, 5, 12. A different
  unit scale is therefore NOT detected (``5 cm`` equals ``5 m``): the data sets we grade (GSM8K,
  SVAMP, ASDiv) state units in the question and the number is the answer.
* Percent: ``p%`` equals ``p`` (the sign dropped) and ``p/100`` (the fraction it denotes); two
  numbers that are both with or both without ``%`` compare as written, so ``25`` != ``0.25``.
* Rounding: a plain decimal with k >= 2 places equals a value that is not exactly a k-place decimal
  (``1/3``, ``\\sqrt{2}``, ``\\pi``) and rounds to it (``0.33`` == ``1/3``, ``3.14`` == ``\\pi``).
  Two exact k-place decimals must agree (``1.33`` != ``1.34``); one place is too coarse (``0.3`` !=
  ``1/3``).
* Anything else is parsed by sympy (see ``_math_answers.symbolic``): numeric evaluation for closed
  forms, ``simplify(a - b) == 0`` or vanishing at fixed sample points for expressions with symbols,
  all inside a worker thread with a time limit, and refusing huge or nested exponents.
* Yes/true and no/false are booleans. Plain text is compared last, case-, punctuation-,
  whitespace- and article-insensitively.

No function here raises on any input; an undecidable comparison is False.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from fractions import Fraction

from dataflow.lib.math_answers.extract import extract_final_answer
from dataflow.lib.math_answers.numeric import (
    Number,
    clean_surface,
    number_to_text,
    parse_number,
)
from dataflow.lib.math_answers.symbolic import (
    DEFAULT_TIMEOUT_S,
    symbolic_value,
    symbolically_equal,
)

__all__ = ["answers_equivalent", "extract_final_answer", "majority_vote", "normalize_answer"]

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
class _Answer:
    """A parsed answer: a scalar (text), an unordered collection, or an ordered bracketed tuple."""

    kind: str  # "scalar" | "unordered" | "ordered"
    text: str = ""
    items: tuple[_Answer, ...] = ()
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


def _parse(text: str, depth: int = 0) -> _Answer:
    text = text.strip()
    if depth > 6 or not text:
        return _Answer("scalar", text)
    # \{1, 2\} and {1, 2}: sets.
    if text.startswith("\\{") and text.endswith("\\}"):
        inner = text[2:-2]
        return _Answer("unordered", items=_parse_items(inner, depth))
    if text.startswith("{") and text.endswith("}") and _wraps_whole(text):
        inner = text[1:-1]
        if "," in inner or ";" in inner:
            return _Answer("unordered", items=_parse_items(inner, depth))
        return _parse(inner, depth + 1)
    # (a, b], [a, b], (a, b): ordered, bracket kinds matter.
    if text[0] in "([" and text[-1] in ")]" and _wraps_whole(text):
        inner = text[1:-1]
        items = _parse_items(inner, depth)
        if len(items) > 1:
            return _Answer("ordered", items=items, brackets=text[0] + text[-1])
        if text[0] == "(" and text[-1] == ")":
            return _parse(inner, depth + 1)
    pieces = [piece for piece in _top_level_split(text, _ANSWER_SEPARATORS) if piece]
    if len(pieces) > 1:
        return _Answer("unordered", items=tuple(_parse(piece, depth + 1) for piece in pieces))
    if parse_number(text) is not None:
        return _Answer("scalar", text)
    inequality = _inequality_interval(text)
    if inequality is not None:
        return inequality
    # "x = 5", "x_1 = 2": the value is the right-hand side.
    sides = _top_level_split(text, re.compile(r"\s*(?<![<>!\\])=(?!=)\s*"))
    if len(sides) > 1 and all(re.fullmatch(_VARIABLE, side) for side in sides[:-1]) and sides[-1]:
        return _parse(sides[-1], depth + 1)
    plus_minus = re.fullmatch(r"(.+?)\s*(?:\\pm|±)\s*(.+)", text)
    if plus_minus:
        base, offset = plus_minus.groups()
        return _Answer(
            "unordered",
            items=(_Answer("scalar", f"{base}+{offset}"), _Answer("scalar", f"{base}-{offset}")),
        )
    return _Answer("scalar", text)


def _parse_items(inner: str, depth: int) -> tuple[_Answer, ...]:
    return tuple(_parse(piece, depth + 1) for piece in _top_level_split(inner, _ITEM_SEPARATORS) if piece)


def _inequality_interval(text: str) -> _Answer | None:
    """``x > 3`` -> ``(3, \\infty)``; ``1 < x \\le 2`` -> ``(1, 2]``."""
    both = re.fullmatch(rf"(.+?)\s*({_LOWER})\s*{_VARIABLE}\s*({_LOWER})\s*(.+)", text)
    if both:
        low, low_op, high_op, high = both.groups()
        brackets = ("(" if low_op in _STRICT_LOWER else "[") + (")" if high_op in _STRICT_LOWER else "]")
        return _Answer("ordered", items=(_parse(low, 7), _parse(high, 7)), brackets=brackets)
    greater = re.fullmatch(rf"{_VARIABLE}\s*({_GREATER})\s*(.+)", text)
    if greater:
        op, bound = greater.groups()
        bracket = "(" if op == ">" else "["
        return _Answer(
            "ordered", items=(_parse(bound, 7), _Answer("scalar", "\\infty")), brackets=bracket + ")"
        )
    lower = re.fullmatch(rf"{_VARIABLE}\s*({_LOWER})\s*(.+)", text)
    if lower:
        op, bound = lower.groups()
        bracket = ")" if op == "<" else "]"
        return _Answer(
            "ordered", items=(_Answer("scalar", "-\\infty"), _parse(bound, 7)), brackets="(" + bracket
        )
    return None


def _text_key(text: str) -> str:
    """Case-, punctuation-, whitespace- and article-insensitive form of a text answer."""
    text = text.lower().replace(".", "").replace("'", "").replace("’", "")
    words = re.sub(r"[^\w]+", " ", text).split()
    return " ".join(word for word in words if word not in _ARTICLES)


def _boolean(text: str) -> bool | None:
    key = _text_key(text)
    if key in _TRUE_WORDS:
        return True
    if key in _FALSE_WORDS:
        return False
    return None


def _is_wordy(text: str) -> bool:
    """True when the answer contains an English word, not only math."""
    words = re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", text)
    return any(word.lower() not in _MATH_WORDS for word in words)


def _close(x: Fraction, y: Fraction, rel_tol: float) -> bool:
    if x == y:
        return True
    return abs(x - y) <= Fraction(rel_tol) * max(abs(x), abs(y))


def _rounds_to(stated: Number, exact: complex | Fraction, exact_is_decimal_at: bool) -> bool:
    """A decimal stated with k >= 2 places equals a more precise value that rounds to it."""
    if stated.decimals is None or stated.decimals < 2 or stated.percent or exact_is_decimal_at:
        return False
    if isinstance(exact, complex):
        if abs(exact.imag) > 1e-12:
            return False
        exact_real: float | Fraction = exact.real
    else:
        exact_real = exact
    half_step = Fraction(1, 2 * 10**stated.decimals)
    return abs(Fraction(exact_real) - stated.value) <= half_step * (1 + Fraction(1, 10**6))


def _exact_at(value: Fraction, decimals: int | None) -> bool:
    return decimals is not None and (value * 10**decimals).denominator == 1


def _numbers_equal(a: Number, b: Number, rel_tol: float) -> bool:
    candidates = [(a.value, b.value)]
    if a.percent and not b.percent:
        candidates.append((a.value / 100, b.value))
    elif b.percent and not a.percent:
        candidates.append((a.value, b.value / 100))
    if any(_close(x, y, rel_tol) for x, y in candidates):
        return True
    return _rounds_to(a, b.value, _exact_at(b.value, a.decimals)) or _rounds_to(
        b, a.value, _exact_at(a.value, b.decimals)
    )


def _remaining(deadline: float) -> float:
    """Seconds left of this comparison's symbolic budget (0 once spent: symbolic steps then refuse)."""
    return max(0.0, deadline - time.monotonic())


def _scalars_equal(a: str, b: str, rel_tol: float, deadline: float) -> bool:
    if a == b:
        return True
    number_a, number_b = parse_number(a), parse_number(b)
    if number_a is not None and number_b is not None:
        return _numbers_equal(number_a, number_b, rel_tol)
    bool_a, bool_b = _boolean(a), _boolean(b)
    if bool_a is not None or bool_b is not None:
        return bool_a is not None and bool_a == bool_b
    if number_a is not None or number_b is not None:
        # One side is a plain number, the other maybe a closed form such as \sqrt{2} or 2\pi.
        number, other = (number_a, b) if number_a is not None else (number_b, a)
        if _is_wordy(other):
            return False
        value = symbolic_value(other, _remaining(deadline))
        if value is None:  # not a closed form: may still simplify to a number (sin^2 x + cos^2 x)
            return bool(symbolically_equal(a, b, rel_tol, _remaining(deadline)))
        if abs(value.imag) <= 1e-12 and _close(number.value, Fraction(value.real), rel_tol):
            return True
        if (
            number.percent
            and abs(value.imag) <= 1e-12
            and _close(number.value / 100, Fraction(value.real), rel_tol)
        ):
            return True
        return _rounds_to(number, value, False)
    if _is_wordy(a) or _is_wordy(b):
        return _text_key(a) == _text_key(b) != ""
    verdict = symbolically_equal(a, b, rel_tol, _remaining(deadline))
    if verdict is not None:
        return verdict
    # Neither side parses (times such as "3:30 p.m.", ratios): compare the written form loosely.
    return _loose_text(a) == _loose_text(b)


def _loose_text(text: str) -> str:
    return re.sub(r"[\s.]", "", text.lower())


def _equal(a: _Answer, b: _Answer, rel_tol: float, deadline: float) -> bool:
    # A one-element collection is its element.
    if a.kind == "unordered" and len(a.items) == 1:
        return _equal(a.items[0], b, rel_tol, deadline)
    if b.kind == "unordered" and len(b.items) == 1:
        return _equal(a, b.items[0], rel_tol, deadline)
    if a.kind == "scalar" and b.kind == "scalar":
        return _scalars_equal(a.text, b.text, rel_tol, deadline)
    if a.kind == "scalar" or b.kind == "scalar" or len(a.items) != len(b.items):
        return False
    if a.kind == "ordered" and b.kind == "ordered":
        if a.brackets != b.brackets:
            return False
        return all(_equal(x, y, rel_tol, deadline) for x, y in zip(a.items, b.items))
    if a.kind == "unordered" and b.kind == "unordered":
        return _match_unordered(list(a.items), list(b.items), rel_tol, deadline)
    # A bare list "1, 2" against a tuple "(1, 2)": same order required.
    ordered = a if a.kind == "ordered" else b
    if ordered.brackets != "()":
        return False
    return all(_equal(x, y, rel_tol, deadline) for x, y in zip(a.items, b.items))


def _match_unordered(left: list[_Answer], right: list[_Answer], rel_tol: float, deadline: float) -> bool:
    """Whether the two collections pair up one-to-one (a small backtracking matching)."""
    if not left:
        return not right
    head, rest = left[0], left[1:]
    for k, candidate in enumerate(right):
        if _equal(head, candidate, rel_tol, deadline) and _match_unordered(
            rest, right[:k] + right[k + 1 :], rel_tol, deadline
        ):
            return True
    return False


def answers_equivalent(
    a: str, b: str, *, rel_tol: float = 1e-6, timeout_s: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Whether two final answers denote the same mathematical answer (see the module docstring).

    ``timeout_s`` is the budget for all symbolic (sympy) work of this call, however many elements a
    set or list holds; the numeric, structural and text paths do not need it. Never raises:
    unparseable or undecidable input compares unequal.
    """
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    try:
        clean_a, clean_b = clean_surface(a), clean_surface(b)
        if not clean_a or not clean_b:
            return False
        if clean_a == clean_b:
            return True
        deadline = time.monotonic() + timeout_s
        return _equal(_parse(clean_a), _parse(clean_b), rel_tol, deadline)
    except Exception:  # defensive: never raise on model output
        return False


def _render(answer: _Answer) -> str:
    if answer.kind == "ordered":
        return answer.brackets[0] + ", ".join(_render(item) for item in answer.items) + answer.brackets[1]
    if answer.kind == "unordered":
        return "{" + ", ".join(sorted(_render(item) for item in answer.items)) + "}"
    number = parse_number(answer.text)
    if number is not None:
        return number_to_text(number.value) + ("%" if number.percent else "")
    boolean = _boolean(answer.text)
    if boolean is not None:
        return "yes" if boolean else "no"
    if _is_wordy(answer.text):
        return _text_key(answer.text)
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
        return _render(_parse(cleaned)) if cleaned else ""
    except Exception:
        return ans.strip()


def majority_vote(answers: list[str | None]) -> tuple[str | None, float]:
    """The most common answer up to equivalence, and the share of (non-None) answers that agree.

    Answers are clustered greedily: each joins the first earlier cluster whose first member it is
    equivalent to. The representative is that first member as written (stripped). Ties go to the
    cluster that appeared first. None and blank answers are ignored; with none left the result is
    ``(None, 0.0)``.
    """
    clusters: list[list[str]] = []
    keys: list[str] = []
    counted = 0
    for answer in answers:
        if not isinstance(answer, str) or not answer.strip():
            continue
        answer = answer.strip()
        counted += 1
        key = normalize_answer(answer)
        for k, cluster in enumerate(clusters):
            if keys[k] == key or answers_equivalent(cluster[0], answer):
                cluster.append(answer)
                break
        else:
            clusters.append([answer])
            keys.append(key)
    if not clusters:
        return None, 0.0
    best = max(range(len(clusters)), key=lambda k: (len(clusters[k]), -k))
    return clusters[best][0], len(clusters[best]) / counted
