"""CodeSyntaxFilter: MBPP's reference solutions parse, broken copies do not, other languages pass."""

from __future__ import annotations

import sys

import pytest

from dataflow.core.registry import OPERATORS
from dataflow.testing import run_operator

from .helpers import mbpp_rows


def syntax_filter(**params):
    return OPERATORS.get("CodeSyntaxFilter")(**params)


def test_mbpp_solutions_parse_and_broken_copies_are_dropped_with_their_line():
    tasks = mbpp_rows()
    good = [{"code": t["code"], "task": t["task_id"]} for t in tasks]  # CRLF line ends, tabs
    result = run_operator(syntax_filter(), good)
    assert len(result.kept) == len(tasks) and not result.errors
    assert {r["syntax_error"] for r in result.kept} == {""}
    # Break each solution on the line of its first "def": drop the colon that ends the header.
    broken = []
    for t in tasks[:60]:
        lines = t["code"].split("\r\n")
        k = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
        lines[k] = lines[k].rstrip().removesuffix(":")
        broken.append({"code": "\n".join(lines), "line": k + 1})
    result = run_operator(syntax_filter(), broken)
    assert result.kept == []
    for row in result.dropped:
        assert row["syntax_error"].startswith(f"line {row['line']}: ")
        assert row["reason"] == f"python syntax error at {row['syntax_error']}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TOML is checked with tomllib (Python 3.11+)")
def test_languages_by_column_and_by_param():
    rows = [{"code": "def f(x):\n    return x\n", "lang": "Python"},
            {"code": "def f(x)\n    return x\n", "lang": "python3"},
            {"code": 'print "hello"', "lang": "Python"},  # Python 2
            {"code": "int main( {", "lang": "C"},  # no C parser: passes unchecked
            {"code": '{"a": 1,}', "lang": "JSON"},
            {"code": "a: [1, 2", "lang": "YAML"},
            {"code": "[tool]\nname = ", "lang": "toml"},
            {"code": "x = 1\0", "lang": "Python"},
            {"code": None, "lang": "Python"}]
    result = run_operator(syntax_filter(), rows, input_language_key="lang")
    assert result.kept_ids == ["1", "4", "9"]
    reasons = result.drop_reasons
    assert reasons[0] == "python3 syntax error at line 1: expected ':'"
    assert reasons[1].startswith("python syntax error at line 1: Missing parentheses in call to 'print'")
    assert reasons[2].startswith("json syntax error at line 1: ")
    assert reasons[3].startswith("yaml syntax error at line 1: ")
    assert reasons[4].startswith("toml syntax error: ")  # tomllib: Python 3.11+
    assert "null bytes" in reasons[5]
    # Unbound language column: the `language` param decides for every row.
    assert run_operator(syntax_filter(language="json"), rows[4:5]).kept == []
    assert len(run_operator(syntax_filter(language="rust"), rows).kept) == len(rows)
