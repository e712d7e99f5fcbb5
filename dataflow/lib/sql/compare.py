"""Whether two query results are the same answer, with the semantics of Spider's test-suite evaluation.

:func:`results_match(gold, pred, order_matters)` is True when:

* **rows are a multiset**: the same rows, each as often, in any order; unless ``order_matters`` (the
  gold query sorts its result: :func:`has_order_by`), then in the same order;
* **column order is free**: the predicted columns may be any permutation of the gold ones (names are
  ignored, only values count); columns are matched by trying the permutations whose every column holds
  the same values as its gold column;
* **numbers are compared as numbers**: ``1 == 1.0 == Decimal("1")``, booleans are 0/1, and two floats
  are equal within the relative ``float_tolerance`` (default ``1e-9``: only rounding noise; 0 is exact);
  a number and a string never match (``1`` vs ``'1'``), as in Spider;
* **NULL equals NULL**;
* both empty results match; results with a different number of rows or of columns do not.

Rows are sorted by a total order over normalised values and then compared pairwise, so a tolerance only
merges values that sort next to each other (enough for rounding noise, not a fuzzy match).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

DEFAULT_FLOAT_TOLERANCE = 1e-9
_MAX_PERMUTATIONS = 20_000


def normalize_value(value: Any) -> Any:
    """A value in the form results are compared in: numbers as int (when integral) or float."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        value = float(value) if not value == value.to_integral_value() else int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    return value


def _rank(value: Any) -> tuple:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value if not (isinstance(value, float) and math.isnan(value)) else math.inf)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, bytes):
        return (3, value)
    return (4, str(value))


def values_equal(a: Any, b: Any, tolerance: float = DEFAULT_FLOAT_TOLERANCE) -> bool:
    """Two normalised values are equal (numbers within the relative tolerance)."""
    if a is None or b is None:
        return a is None and b is None
    num_a, num_b = isinstance(a, (int, float)), isinstance(b, (int, float))
    if num_a or num_b:
        if not (num_a and num_b):
            return False
        if a == b:
            return True
        return tolerance > 0 and math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    return type(a) is type(b) and a == b


def _rows_equal(gold: list[tuple], pred: list[tuple], ordered: bool, tolerance: float) -> bool:
    if not ordered:
        key = lambda row: tuple(_rank(v) for v in row)  # noqa: E731
        gold, pred = sorted(gold, key=key), sorted(pred, key=key)
    return all(values_equal(a, b, tolerance) for g, p in zip(gold, pred) for a, b in zip(g, p))


def results_match(gold: Sequence[Sequence[Any]], pred: Sequence[Sequence[Any]], order_matters: bool = False,
                  float_tolerance: float = DEFAULT_FLOAT_TOLERANCE) -> bool:
    """Whether ``pred`` rows are the same result as ``gold`` rows (see the module docstring)."""
    gold_rows = [tuple(normalize_value(v) for v in row) for row in gold]
    pred_rows = [tuple(normalize_value(v) for v in row) for row in pred]
    if len(gold_rows) != len(pred_rows):
        return False
    if not gold_rows:
        return True
    width = len(gold_rows[0])
    if any(len(r) != width for r in gold_rows) or any(len(r) != width for r in pred_rows):
        return False
    # Candidate columns for each gold column: those holding the same values (as a multiset).
    gold_cols = [[(v,) for v in col] for col in zip(*gold_rows)]
    pred_cols = [[(v,) for v in col] for col in zip(*pred_rows)]
    candidates = [[j for j in range(width) if _rows_equal(g, pred_cols[j], False, float_tolerance)]
                  for g in gold_cols]
    if any(not c for c in candidates):
        return False
    tried = 0
    for perm in itertools.product(*candidates):
        if len(set(perm)) != width:
            continue
        tried += 1
        if tried > _MAX_PERMUTATIONS:
            break
        permuted = [tuple(row[j] for j in perm) for row in pred_rows]
        if _rows_equal(gold_rows, permuted, order_matters, float_tolerance):
            return True
    return False


def has_order_by(sql: str, dialect: str | None = "sqlite") -> bool:
    """Whether the query's result is ordered: an ``ORDER BY`` on the outermost query (not in a subquery).
    Parsed with sqlglot; SQL it cannot parse falls back to looking for ``ORDER BY`` in the text."""
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read=dialect)
        while isinstance(tree, exp.Subquery):
            tree = tree.this
        return tree.args.get("order") is not None
    except Exception:  # noqa: BLE001 - sqlglot's parse errors and its own bugs
        return re.search(r"\border\s+by\b", sql, re.IGNORECASE) is not None
