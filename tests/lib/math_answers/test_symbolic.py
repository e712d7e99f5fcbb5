"""Tests for the sympy path of answer equivalence: its time limit stops the work."""

from __future__ import annotations

import time

import pytest

from dataflow.lib.math_answers.equivalence import answers_equivalent
from dataflow.lib.math_answers.symbolic import symbolic_value, symbolically_equal
from tests.lib.helpers import busy_children, psutil

pytest.importorskip("sympy")
pytest.importorskip("latex2sympy2_extended")

# Not told apart by sampling (f is an unknown function, so no sample point evaluates); sympy's
# simplify then runs for minutes.
RUNAWAY = ("\\sin(x)^{40}f(x)", "\\cos(x)^{40}f(x)")


def test_symbolic_results_come_back_from_the_worker():
    assert symbolically_equal("(x+1)^2", "x^2+2x+1", 1e-6, 5.0) is True
    assert symbolically_equal("(x+1)^2", "x^2+1", 1e-6, 5.0) is False
    assert abs(symbolic_value("2\\sqrt{2}", 5.0) - 2 * 2**0.5) < 1e-12


def test_runaway_simplification_is_stopped_within_the_time_limit():
    assert answers_equivalent("\\sqrt{8}", "2\\sqrt{2}")  # sympy imported, a worker warm
    me = psutil.Process()
    threads = me.num_threads()
    start = time.monotonic()
    assert answers_equivalent(*RUNAWAY, timeout_s=1.0) is False
    assert time.monotonic() - start < 1.0 + 1.0
    assert busy_children(me) == []
    assert me.num_threads() == threads
    assert answers_equivalent("\\sqrt{8}", "2\\sqrt{2}")  # a fresh worker serves the next call
