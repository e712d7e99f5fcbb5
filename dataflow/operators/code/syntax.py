"""A syntax check: drop files that do not parse, with the parser's message and line."""

from __future__ import annotations

import ast
import importlib.util
import json
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.code._base import CodeRuleFilter, text_values


def python_error(source: str) -> str:
    """"" when ``source`` parses as Python 3 (``ast.parse``), else ``line N: message``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like are not errors
            ast.parse(source)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}" if exc.lineno else exc.msg
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes; nesting too deep to parse
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return ""


def json_error(source: str) -> str:
    try:
        json.loads(source)
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except RecursionError:
        return "RecursionError"
    return ""


def yaml_error(source: str) -> str:
    import yaml  # a core dependency, imported on first use

    try:
        list(yaml.safe_load_all(source))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return f"line {mark.line + 1 if mark else '?'}: {exc.problem}"
    except yaml.YAMLError as exc:
        return str(exc).splitlines()[0]
    return ""


def toml_error(source: str) -> str:
    import tomllib  # Python >= 3.11 (PARSERS lists TOML only where it exists)

    try:
        tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        return str(exc)
    return ""


#: Parser by lowercase language name; other languages pass unchecked.
PARSERS: dict[str, Callable[[str], str]] = {
    "python": python_error, "py": python_error, "python3": python_error,
    "json": json_error, "yaml": yaml_error, "yml": yaml_error,
    **({"toml": toml_error} if importlib.util.find_spec("tomllib") else {}),
}


@register_operator
class CodeSyntaxFilter(CodeRuleFilter):
    """Drop code that does not parse; the reason names the language, the line and the parser's message.

    The language of a row is ``input_language_key``'s value when bound (case-insensitive: "Python",
    "python3", ...), else ``language``. Parsers, all in-process and cheap: Python 3 with ``ast.parse``
    (the running interpreter's grammar, so Python 2 ``print "x"`` fails; a file whose nesting is too
    deep for the parser, or that holds a null byte, fails too), JSON with ``json``, YAML with PyYAML's
    ``safe_load_all``, TOML with ``tomllib`` (Python 3.11+). Rows in any other language pass unchecked
    (no C, Java or JavaScript parser ships with Python; none is installed for this). ``output_key``
    (``syntax_error``) gets ``""`` for code that parses or was not checked, else the message; the drop
    reason reads ``python syntax error at line 3: expected ':'``.
    """

    input_key = InputColumn("code", "str", nullable=True)
    input_language_key = InputColumn(None, "str", nullable=True)
    output_key = OutputColumn("syntax_error", "str")
    extra_inputs = {"row_language": "input_language_key"}

    def __init__(self, language: str = "python") -> None:
        super().__init__()
        self.language = language

    def check(self, text: str, row_language: str | None) -> str:
        """The parser's message ("" when the text parses or its language has no parser)."""
        parse = PARSERS.get(self._language(row_language))
        return parse(text) if parse else ""

    def _language(self, row_language: str | None) -> str:
        return (row_language if row_language is not None else self.language).strip().lower()

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        errors = self.problems(batch, ctx)
        languages = text_values(batch, ctx.cols.get("input_language_key"))
        reasons = [f"{self._language(lang)} syntax error{' at ' if e.startswith('line ') else ': '}{e}"
                   if e else "" for e, lang in zip(errors, languages)]
        return {"output_key": errors, "reasons": reasons}

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        return [not e for e in scores["output_key"]], scores["reasons"]
