"""Symbolic equality of two scalar answers through sympy, bounded in time.

LaTeX (and plain ``sqrt(2)``-style text, rewritten to LaTeX) is parsed by ``latex2sympy2_extended``
(an ANTLR grammar, no ``eval``). Two expressions are equal when both evaluate to numbers that agree
within ``rel_tol``, or, with free symbols, when ``simplify(a - b) == 0`` or ``a - b`` vanishes at
fixed sample points. Inputs that could make sympy run away (long strings, huge or nested exponents,
big factorials) are refused, and all sympy work runs in a worker process under a time limit
(:mod:`dataflow.lib.time_limit`): a comparison that does not finish in time is stopped (the worker is
killed) and counts as "not shown equal".
"""

from __future__ import annotations

import math
import re
from typing import Any

from dataflow.lib.time_limit import call_with_time_limit

MAX_EXPRESSION_CHARS = 300
MAX_EXPONENT = 1000
MAX_SYMBOLIC_EXPONENT = 60
MAX_FACTORIAL = 200
DEFAULT_TIMEOUT_S = 2.0

# Fixed, deterministic sample values for expressions with free symbols.
_SAMPLE_POINTS = (0.5772156649, 1.6180339887, 2.7182818285, -1.4142135624)

_PLAIN_FUNCTIONS = ("sqrt", "sin", "cos", "tan", "log", "ln", "exp")
_PLAIN_CONSTANTS = {"pi": "\\pi", "infinity": "\\infty", "inf": "\\infty", "oo": "\\infty"}


def _plain_to_latex(text: str) -> str:
    """Rewrite calculator notation (``sqrt(2)``, ``pi``, ``**``) into LaTeX the parser reads."""
    text = text.replace("**", "^")
    text = re.sub(r"(?<!\\)\bsqrt\s*\(", "\\\\sqrt(", text)
    # \sqrt( X ) -> \sqrt{ X }: find the matching parenthesis.
    while "\\sqrt(" in text:
        start = text.index("\\sqrt(") + len("\\sqrt")
        depth = 0
        for i in range(start, len(text)):
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    text = text[:start] + "{" + text[start + 1 : i] + "}" + text[i + 1 :]
                    break
        else:
            return text
    for name in _PLAIN_FUNCTIONS[1:]:
        text = re.sub(rf"(?<!\\)\b{name}\b", "\\\\" + name, text)
    for word, latex in _PLAIN_CONSTANTS.items():
        text = re.sub(rf"(?<![\\A-Za-z]){word}\b", lambda _m, latex=latex: latex, text)
    # Brace-less arguments the grammar rejects: \sqrt3 -> \sqrt{3}, \frac12 -> \frac{1}{2}.
    text = re.sub(r"\\sqrt\s*([0-9A-Za-z])", r"\\sqrt{\1}", text)
    text = re.sub(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", text)
    return text


def is_risky(text: str) -> bool:
    """True for inputs that could make parsing or evaluation explode."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return True
    # Nested exponents such as 10^{10^{10}} or 2^3^4.
    if re.search(r"\^\s*\{[^{}]*\^", text) or re.search(r"\^\s*\w+\s*\^", text):
        return True
    # With variables, a large power means a huge expansion: a lower cap applies.
    has_variables = re.search(r"(?<![\\A-Za-z])[A-Za-z]", text) is not None
    cap = MAX_SYMBOLIC_EXPONENT if has_variables else MAX_EXPONENT
    for match in re.finditer(r"\^\s*\{?\s*\(?\s*-?\s*(\d+(?:\.\d+)?)", text):
        if float(match.group(1)) > cap:
            return True
    for match in re.finditer(r"(\d+)\s*!", text):
        if int(match.group(1)) > MAX_FACTORIAL:
            return True
    return bool(re.search(r"\\(?:int|sum|prod|lim)\b", text))


_IMPORTED: dict[str, Any] = {}


def _modules() -> dict[str, Any]:
    """Import sympy and the LaTeX parser once, before a worker is forked (imports must not be timed)."""
    if not _IMPORTED:
        import sympy
        from latex2sympy2_extended import latex2sympy

        _IMPORTED["sympy"] = sympy
        _IMPORTED["latex2sympy"] = latex2sympy
    return _IMPORTED


def _parse(text: str) -> Any:
    mods = _modules()
    expression = mods["latex2sympy"](_plain_to_latex(text))
    sympy = mods["sympy"]
    if isinstance(expression, sympy.Eq):
        expression = expression.lhs - expression.rhs
    if not isinstance(expression, sympy.Expr):
        return None
    return expression


def _numeric(expression: Any) -> complex | None:
    value = expression.evalf(30)
    if not value.is_number:
        return None
    result = complex(value)
    if not (math.isfinite(result.real) and math.isfinite(result.imag)):
        return None
    return result


def _close(x: complex, y: complex, rel_tol: float) -> bool:
    scale = max(abs(x), abs(y))
    return abs(x - y) <= max(rel_tol * scale, 1e-12)


def _equal(left: Any, right: Any, rel_tol: float) -> bool:
    sympy = _modules()["sympy"]
    if left.free_symbols or right.free_symbols:
        # Sampling first: cheap, and it rejects most unequal pairs without a costly simplify.
        difference = left - right
        symbols = sorted(difference.free_symbols, key=lambda s: s.name)
        hits = 0
        for k, _ in enumerate(_SAMPLE_POINTS):
            point = {s: _SAMPLE_POINTS[(k + j) % len(_SAMPLE_POINTS)] for j, s in enumerate(symbols)}
            value = _numeric(difference.subs(point))
            if value is None:
                continue
            scale = max(abs(_numeric(left.subs(point)) or 0), 1.0)
            if abs(value) > 1e-9 * scale:
                return False
            hits += 1
        if hits >= 3:
            return True
        return bool(sympy.simplify(difference) == 0)
    if left == right:
        return True
    x, y = _numeric(left), _numeric(right)
    if x is None or y is None:
        return bool(left.is_infinite and right.is_infinite and left == right)
    return _close(x, y, rel_tol)


def _value_of(text: str) -> complex | None:
    expression = _parse(text)
    if expression is None or expression.free_symbols:
        return None
    return _numeric(expression)


def _equal_texts(left: str, right: str, rel_tol: float) -> bool | None:
    left_expr, right_expr = _parse(left), _parse(right)
    if left_expr is None or right_expr is None:
        return None
    return _equal(left_expr, right_expr, rel_tol)


def symbolic_value(text: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> complex | None:
    """Numeric value of a closed-form answer such as ``\\sqrt{2}`` or ``2\\pi``, else None."""
    if is_risky(text):
        return None
    try:
        _modules()
    except ImportError:
        return None
    return call_with_time_limit(_value_of, (text,), timeout_s)


def symbolically_equal(
    left: str, right: str, rel_tol: float, timeout_s: float = DEFAULT_TIMEOUT_S
) -> bool | None:
    """True/False when sympy decides in time; None when either side cannot be parsed or time ran out."""
    if is_risky(left) or is_risky(right):
        return None
    try:
        _modules()
    except ImportError:
        return None
    return call_with_time_limit(_equal_texts, (left, right, rel_tol), timeout_s)
