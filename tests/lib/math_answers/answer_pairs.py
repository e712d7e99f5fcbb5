"""Builds labelled answer pairs from the shared math fixtures (GSM8K, SVAMP, ASDiv, open-dataflow).

Each gold answer is rewritten into equivalent forms (thousands separators, ``$``, units, trailing
``.0``, fractions for non-integers, ``\\boxed{}``, LaTeX fraction forms, percent, scientific
notation) and into near misses (off by one, digit swap, wrong decimal place, sign flip, ``1,234`` vs
``1.234``, inverted fraction, a different text answer). Nothing from the fixtures is stored in the
repository: the pairs are built at test time, deterministically from a seed.
"""

from __future__ import annotations

import json
import random
import re
from fractions import Fraction
from pathlib import Path

MATH_FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "math"

Pair = tuple[str, str, bool]


def fixtures_available() -> bool:
    return (MATH_FIXTURES / "gsm8k" / "train.jsonl").is_file()


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _plain(value: Fraction) -> str:
    """Shortest decimal text for a terminating value, else None-free fallback to a fraction."""
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.10f}".rstrip("0")
    return text


def _thousands(value: Fraction) -> str:
    return f"{value.numerator:,}"


def _swap_digits(text: str, rng: random.Random) -> str | None:
    positions = [i for i in range(len(text) - 1) if text[i].isdigit() and text[i + 1].isdigit()]
    rng.shuffle(positions)
    for i in positions:
        if text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return None


def _integer_forms(value: Fraction, rng: random.Random) -> tuple[list[str], list[str]]:
    n = value.numerator
    positives = [f"{n}.0", f"\\boxed{{{n}}}", f"${n}", f"{n} dollars", f"\\frac{{{2 * n}}}{{2}}", f"{n}\\%"]
    positives += [f"{n}.00", f"\\text{{{n}}}", f"x = {n}", f"{n} units"]
    if abs(n) >= 1000:
        positives += [_thousands(value), f"${_thousands(value)}.00", f"\\boxed{{{_thousands(value)}}}"]
        mantissa = Fraction(n, 10 ** (len(str(abs(n))) - 1))
        positives.append(f"{_plain(mantissa)} \\times 10^{{{len(str(abs(n))) - 1}}}")
    negatives = [str(n + 1), str(n - 1), str(n * 10), f"{_plain(Fraction(n, 10))}"]
    if n != 0:
        negatives.append(str(-n))
    swapped = _swap_digits(str(n), rng)
    if swapped is not None and int(swapped) != n:
        negatives.append(swapped)
    if abs(n) >= 1000 and n % 1000 != 0:
        # 1,234 vs 1.234: the comma is a thousands separator, the point a decimal point.
        negatives.append(_thousands(value).replace(",", ".", 1))
    return positives, negatives


def _decimal_forms(text: str, value: Fraction, rng: random.Random) -> tuple[list[str], list[str]]:
    p, q = value.numerator, value.denominator
    positives = [
        f"{text}0",
        f"\\boxed{{{text}}}",
        f"{p}/{q}",
        f"\\frac{{{p}}}{{{q}}}",
        f"\\dfrac{{{p}}}{{{q}}}",
    ]
    positives += [f"\\tfrac{{{p}}}{{{q}}}", f"${text}", f"{text} cm"]
    if value > 1:
        whole = p // q
        rest = value - whole
        positives += [
            f"{whole} {rest.numerator}/{rest.denominator}",
            f"{whole}\\frac{{{rest.numerator}}}{{{rest.denominator}}}",
        ]
    decimals = len(text.split(".")[1])
    negatives = [_plain(value + 1), _plain(value * 10), _plain(value / 10), _plain(-value)]
    negatives.append(_plain(value + Fraction(1, 10**decimals)))  # last digit off by one
    swapped = _swap_digits(text, rng)
    if swapped is not None and Fraction(swapped) != value:
        negatives.append(swapped)
    if q != 1 and p != q:
        negatives.append(f"\\frac{{{q}}}{{{p}}}")
    return positives, negatives


def _rounded_fraction(gold: str) -> str | None:
    """A simple fraction that ``gold`` is a rounding of (83.33 -> 250/3), when there is one."""
    if not re.fullmatch(r"\d+\.\d{2,}", gold):
        return None
    value = Fraction(gold)
    half_step = Fraction(1, 2 * 10 ** len(gold.split(".")[1]))
    for denominator in (3, 6, 7, 9, 11, 12):
        nearby = Fraction(round(value * denominator), denominator)
        if nearby != value and abs(nearby - value) <= half_step:
            return f"\\frac{{{nearby.numerator}}}{{{nearby.denominator}}}"
    return None


def _numeric_pairs(gold: str, value: Fraction, rng: random.Random, n_pos: int, n_neg: int) -> list[Pair]:
    if value.denominator == 1:
        positives, negatives = _integer_forms(value, rng)
    else:
        positives, negatives = _decimal_forms(_plain(value), value, rng)
    pairs = [(gold, form, True) for form in rng.sample(positives, min(n_pos, len(positives)))]
    rounded = _rounded_fraction(gold)
    if rounded is not None:
        pairs.append((gold, rounded, True))
    pairs += [(gold, form, False) for form in rng.sample(negatives, min(n_neg, len(negatives)))]
    return pairs


def _asdiv_pairs(records: list[dict], rng: random.Random) -> list[Pair]:
    pairs: list[Pair] = []
    with_unit = [r["answer"] for r in records if re.fullmatch(r"-?\d+(?:\.\d+)? \([^()]+\)", r["answer"])]
    for gold in rng.sample(with_unit, 40):
        number, unit = re.fullmatch(r"(-?\d+(?:\.\d+)?) \(([^()]+)\)", gold).groups()
        value = Fraction(number)
        unit_forms = [number, f"{number} {unit}", f"\\text{{{number} {unit}}}", f"\\boxed{{{number}}} {unit}"]
        pairs += [(gold, form, True) for form in rng.sample(unit_forms, 2)]
        pairs += _numeric_pairs(gold, value, rng, n_pos=1, n_neg=2)
    texts = sorted({r["answer"] for r in records if not re.search(r"\d", r["answer"])})
    for gold in rng.sample(texts, 12):
        pairs.append((gold, gold.upper(), True))
        pairs.append((gold, f"the {gold.lower()}.", True))
        other = rng.choice([t for t in texts if t.lower().strip(". ") != gold.lower().strip(". ")])
        pairs.append((gold, other, False))
    ratios = sorted({r["answer"] for r in records if re.fullmatch(r"\d+:\d+", r["answer"])})
    for gold in rng.sample(ratios, 6):
        left, right = gold.split(":")
        pairs.append((gold, f"{left} : {right}", True))
        if left != right:
            pairs.append((gold, f"{right}:{left}", False))
    return pairs


def build_answer_pairs(seed: int = 20240601) -> list[Pair]:
    """(gold, candidate, expected_equivalent) triples built from the math fixtures.

    Deterministic for a given seed. Raises FileNotFoundError when the fixtures are absent.
    """
    rng = random.Random(seed)
    pairs: list[Pair] = []

    gsm8k = _read_jsonl(MATH_FIXTURES / "gsm8k" / "train.jsonl")
    golds = [r["answer"].split("####")[-1].strip() for r in gsm8k]
    with_commas = [g for g in golds if "," in g]
    picked = rng.sample(golds, 45) + rng.sample(with_commas, 10)
    for gold in picked:
        pairs += _numeric_pairs(gold, Fraction(gold.replace(",", "")), rng, n_pos=2, n_neg=2)

    svamp = _read_jsonl(MATH_FIXTURES / "svamp" / "test.jsonl")
    for record in rng.sample(svamp, 25):
        gold = repr(float(record["Answer"]))  # "145.0" as the data set writes it
        pairs += _numeric_pairs(gold, Fraction(gold), rng, n_pos=2, n_neg=2)

    pairs += _asdiv_pairs(_read_jsonl(MATH_FIXTURES / "asdiv" / "test.jsonl"), rng)

    open_dataflow = json.loads(
        (MATH_FIXTURES / "open_dataflow" / "ReasoningPipeline" / "pipeline_math.json").read_text("utf-8")
    )
    decimals = sorted(
        {
            str(r["golden_answer"])
            for r in open_dataflow
            if re.fullmatch(r"\d+\.\d*[1-9]", str(r["golden_answer"]))
        }
    )
    for gold in rng.sample(decimals, 15):
        pairs += _numeric_pairs(gold, Fraction(gold), rng, n_pos=2, n_neg=2)
    return pairs
