"""Answer equivalence for math reasoning data: extraction, canonical form, equality, majority vote.

Pure functions, no LLM. They back the reasoning operators (ground-truth filter, pseudo-answer
generation, answer extraction). The structure of an answer is read by ``parse``, its canonical form
written by ``normalize``.

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
* Anything else is parsed by sympy (see ``symbolic``): numeric evaluation for closed
  forms, ``simplify(a - b) == 0`` or vanishing at fixed sample points for expressions with symbols,
  all inside a worker process that is killed when its time limit runs out, and refusing huge or nested exponents.
* Yes/true and no/false are booleans. Plain text is compared last, case-, punctuation-,
  whitespace- and article-insensitively.

No function here raises on any input; an undecidable comparison is False.
"""

from __future__ import annotations

import re
import time
from fractions import Fraction

from dataflow.lib.math_answers.normalize import normalize_answer
from dataflow.lib.math_answers.numeric import Number, clean_surface, parse_number
from dataflow.lib.math_answers.parse import Answer, boolean_value, is_wordy, parse_answer, text_key
from dataflow.lib.math_answers.symbolic import DEFAULT_TIMEOUT_S, symbolic_value, symbolically_equal

__all__ = ["answers_equivalent", "majority_vote"]


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
    bool_a, bool_b = boolean_value(a), boolean_value(b)
    if bool_a is not None or bool_b is not None:
        return bool_a is not None and bool_a == bool_b
    if number_a is not None or number_b is not None:
        # One side is a plain number, the other maybe a closed form such as \sqrt{2} or 2\pi.
        number, other = (number_a, b) if number_a is not None else (number_b, a)
        if is_wordy(other):
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
    if is_wordy(a) or is_wordy(b):
        return text_key(a) == text_key(b) != ""
    verdict = symbolically_equal(a, b, rel_tol, _remaining(deadline))
    if verdict is not None:
        return verdict
    # Neither side parses (times such as "3:30 p.m.", ratios): compare the written form loosely.
    return _loose_text(a) == _loose_text(b)


def _loose_text(text: str) -> str:
    return re.sub(r"[\s.]", "", text.lower())


def _equal(a: Answer, b: Answer, rel_tol: float, deadline: float) -> bool:
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


def _match_unordered(left: list[Answer], right: list[Answer], rel_tol: float, deadline: float) -> bool:
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
        return _equal(parse_answer(clean_a), parse_answer(clean_b), rel_tol, deadline)
    except Exception:  # defensive: never raise on model output
        return False


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
