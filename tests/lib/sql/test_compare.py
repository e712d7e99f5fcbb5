"""Result comparison with Spider test-suite semantics."""

from __future__ import annotations

from decimal import Decimal

from dataflow.lib.sql import has_order_by, results_match


def test_rows_are_a_multiset_unless_ordered():
    gold = [(1, "a"), (2, "b"), (2, "b")]
    assert results_match(gold, [(2, "b"), (1, "a"), (2, "b")])
    assert not results_match(gold, [(2, "b"), (1, "a"), (1, "a")])  # same set, other counts
    assert not results_match(gold, [(2, "b"), (1, "a")])
    assert not results_match(gold, [(2, "b"), (1, "a"), (2, "b")], order_matters=True)
    assert results_match(gold, list(gold), order_matters=True)


def test_column_order_is_free_and_names_do_not_count():
    gold = [(1, "x", 3.5), (2, "y", 4.5)]
    assert results_match(gold, [("x", 3.5, 1), ("y", 4.5, 2)])
    assert results_match(gold, [("y", 4.5, 2), ("x", 3.5, 1)])
    assert not results_match(gold, [("x", 4.5, 1), ("y", 3.5, 2)])  # columns right, rows scrambled
    assert not results_match(gold, [(1, "x"), (2, "y")])
    # two columns with the same values: the permutation that lines the rows up must be found
    assert results_match([(1, 2), (2, 1), (3, 3)], [(2, 1), (1, 2), (3, 3)])


def test_numbers_as_numbers_and_nulls():
    assert results_match([(1, None)], [(1.0, None)])
    assert results_match([(Decimal("2.50"), True)], [(2.5, 1)])
    assert not results_match([(1,)], [("1",)])  # a number is not its text, as in Spider
    assert not results_match([(None,)], [(0,)])
    assert results_match([(1 / 3,)], [(0.3333333333333333,)])
    assert not results_match([(0.3333,)], [(1 / 3,)])
    assert results_match([(0.3333,)], [(1 / 3,)], float_tolerance=1e-3)
    assert not results_match([(0.1 + 0.2,)], [(0.3,)], float_tolerance=0)
    assert results_match([(0.1 + 0.2,)], [(0.3,)])  # default tolerance: rounding noise only
    assert results_match([], [])
    assert not results_match([], [(None,)])


def test_order_by_only_on_the_outer_query():
    assert has_order_by("SELECT name FROM t ORDER BY age")
    assert has_order_by("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1")
    assert not has_order_by("SELECT name FROM (SELECT * FROM t ORDER BY age LIMIT 3)")
    assert not has_order_by("SELECT name FROM t WHERE id IN (SELECT id FROM u ORDER BY x LIMIT 1)")
    assert has_order_by("SELEC name ORDER BY x")  # unparseable: the text decides
