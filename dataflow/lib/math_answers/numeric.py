"""Surface clean-up of answer strings and an exact parser for plainly numeric answers.

The numeric parser is the fast path: it reads integers, decimals, thousands separators, scientific
notation, fractions (``3/4``, ``\\frac{3}{4}``), mixed numbers (``1 1/2``, ``1\\frac{1}{2}``), percent,
currency and trailing units, and returns an exact :class:`fractions.Fraction`. Anything else goes to
the symbolic comparer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .extract import balanced_group, last_boxed_content

# Exponents beyond this are refused: 10**400 is still cheap, 10**(10**9) is not.
MAX_DECIMAL_EXPONENT = 400

_TEXT_WRAPPERS = ("text", "textbf", "textit", "mathrm", "mathbf", "mbox", "operatorname", "textnormal")
_SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|~|\\displaystyle|\\left\b|\\right\b|\\big[lr]?\b|\\Big[lr]?\b")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree\b")


def unwrap_command(text: str, command: str) -> str:
    """Replace every ``\\command{X}`` with ``X`` (balanced braces)."""
    token = "\\" + command
    out = []
    i = 0
    while True:
        at = text.find(token, i)
        if at < 0:
            out.append(text[i:])
            return "".join(out)
        after = at + len(token)
        # "\textbf" must not be matched by "\text": the name has to end here.
        if after < len(text) and text[after].isalpha():
            out.append(text[i:after])
            i = after
            continue
        j = after
        while j < len(text) and text[j] == " ":
            j += 1
        group = balanced_group(text, j)
        if group is None:
            out.append(text[i:after])
            i = after
            continue
        out.append(text[i:at])
        out.append(group[0])
        i = group[1]


def clean_surface(text: str) -> str:
    """Strip presentation: boxes, math delimiters, ``$``, spacing macros, ``\\text{}``, degrees."""
    text = text.strip()
    boxed = last_boxed_content(text)
    if boxed is not None:
        text = boxed
    text = text.replace("\\$", "").replace("$", "")
    text = re.sub(r"^\\\[|\\\]$|^\\\(|\\\)$", "", text.strip())
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    text = text.replace("−", "-").replace("\u2212", "-").replace("\\%", "%")
    text = re.sub(r"(?<=\d)\\[,!](?=\d{3}(?!\d))", "", text)  # 10\,000 and 10\!000: digit groups
    text = _SPACING.sub(" ", text)
    text = _DEGREE.sub("", text)
    for command in _TEXT_WRAPPERS:
        if "\\" + command in text:
            text = unwrap_command(text, command)
    text = re.sub(r"\s+", " ", text).strip()
    # Trailing sentence punctuation, but not a decimal point inside a number.
    text = re.sub(r"(?<=\S)[.;!,]+$", "", text).strip()
    return text


@dataclass(frozen=True)
class Number:
    """An exactly parsed numeric answer."""

    value: Fraction
    percent: bool  # written with %, \% or "percent"
    decimals: int | None  # digits after the point when written as a plain decimal, else None


_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
_SIGNED = r"[-+]?\s*" + _NUM
_UNIT_TAIL = (
    r"(?:\s*\([^()]*\)"  # "9 (apples)"
    r"|\s+[A-Za-z][A-Za-z.'/^\d\s-]*"  # "12 dollars", "5 cm^2", "3 m/s", "45 degrees"
    r"|[A-Za-z]{2,}[A-Za-z.'/^\d]*"  # "5cm", "12kg" (a single letter stays algebra: "5x")
    r")?"
)
_PERCENT_TAIL = r"(?P<pct>\s*(?:%|percent\b|per\s*cent\b))?"
_CURRENCY_HEAD = r"(?:(?:US|USD|Rs\.?|€|£|¥)\s*)?"

_PATTERNS = [
    # mixed numbers: 1 1/2, 1\frac{1}{2}, 1 \frac12
    (
        "mixed",
        re.compile(
            r"(?P<sign>[-+]?)\s*(?P<whole>\d+)\s*(?:\s(?P<n1>\d+)/(?P<d1>\d+)"
            r"|\\frac\s*\{\s*(?P<n2>\d+)\s*\}\s*\{\s*(?P<d2>\d+)\s*\}|\\frac(?P<n3>\d)(?P<d3>\d))"
        ),
    ),
    # \frac{a}{b} with numeric a, b (optionally signed)
    (
        "frac",
        re.compile(
            r"(?P<sign>[-+]?)\s*\\frac\s*(?:\{\s*(?P<n1>"
            + _SIGNED
            + r")\s*\}\s*\{\s*(?P<d1>"
            + _SIGNED
            + r")\s*\}|(?P<n2>\d)(?P<d2>\d))"
        ),
    ),
    # a/b
    ("slash", re.compile(r"(?P<n1>" + _SIGNED + r")\s*/\s*(?P<d1>" + _SIGNED + r")")),
    # 1.5e3, 1.5 \times 10^{3}, 1.5 x 10^3, 10^{3}
    (
        "sci",
        re.compile(
            r"(?P<mant>" + _SIGNED + r")\s*(?:[eE](?P<e1>[-+]?\d+)|(?:\\times|\\cdot|\*|x|×)\s*10\s*\^\s*"
            r"(?:\{\s*(?P<e2>[-+]?\d+)\s*\}|(?P<e3>[-+]?\d)))"
        ),
    ),
    ("pow10", re.compile(r"(?P<sign>[-+]?)\s*10\s*\^\s*(?:\{\s*(?P<e2>[-+]?\d+)\s*\}|(?P<e3>[-+]?\d))")),
    ("plain", re.compile(r"(?P<n1>" + _SIGNED + r")")),
]
_WRAP = re.compile(r"^\(\s*([-+]?[^(),]*)\s*\)$")


def _decimal(text: str) -> Fraction:
    return Fraction(re.sub(r"[\s,]", "", text))


def _decimals_written(text: str) -> int | None:
    text = text.replace(",", "")
    return len(text.split(".", 1)[1]) if "." in text else 0


def _sign(text: str | None) -> int:
    return -1 if text and text.strip() == "-" else 1


def parse_number(text: str) -> Number | None:
    """Exact value of a plainly numeric answer (after :func:`clean_surface`), else None."""
    text = text.strip()
    negated = re.fullmatch(r"([-+])\s*\((.+)\)", text)
    if negated:  # "-(1/3)"
        inner = parse_number(negated.group(2))
        if inner is None or negated.group(1) == "+":
            return inner
        return Number(value=-inner.value, percent=inner.percent, decimals=inner.decimals)
    wrapped = _WRAP.match(text)
    if wrapped:  # "(-5)"
        text = wrapped.group(1).strip()
    for kind, pattern in _PATTERNS:
        match = re.fullmatch(_CURRENCY_HEAD + pattern.pattern + _PERCENT_TAIL + _UNIT_TAIL, text)
        if not match:
            continue
        groups = match.groupdict()
        percent = bool(groups.get("pct"))
        decimals = None
        if kind == "mixed":
            numerator = groups["n1"] or groups["n2"] or groups["n3"]
            denominator = groups["d1"] or groups["d2"] or groups["d3"]
            if int(denominator) == 0:
                return None
            value = int(groups["whole"]) + Fraction(int(numerator), int(denominator))
            value *= _sign(groups["sign"])
        elif kind in ("frac", "slash"):
            numerator = groups["n1"] or groups["n2"]
            denominator = groups["d1"] or groups["d2"]
            den = _decimal(denominator)
            if den == 0:
                return None
            value = _decimal(numerator) / den * _sign(groups.get("sign"))
        elif kind in ("sci", "pow10"):
            exponent = int(groups.get("e1") or groups.get("e2") or groups.get("e3"))
            if abs(exponent) > MAX_DECIMAL_EXPONENT:
                return None
            mantissa = _decimal(groups["mant"]) if kind == "sci" else Fraction(_sign(groups["sign"]))
            value = mantissa * Fraction(10) ** exponent
        else:
            # "1,234" is a thousands-separated number only when the groups are well formed, which
            # _NUM already enforces; "1,23" never reaches here as a number.
            value = _decimal(groups["n1"])
            decimals = _decimals_written(groups["n1"])
        return Number(value=value, percent=percent, decimals=decimals)
    return None


def number_to_text(value: Fraction) -> str:
    """Canonical text of an exact number: integer, terminating decimal, or ``a/b``."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        digits = 0
        scaled = value
        while scaled.denominator != 1:
            scaled *= 10
            digits += 1
        sign = "-" if value < 0 else ""
        magnitude = abs(scaled.numerator)
        whole, frac = divmod(magnitude, 10**digits)
        return f"{sign}{whole}.{str(frac).rjust(digits, '0')}"
    return f"{value.numerator}/{value.denominator}"
