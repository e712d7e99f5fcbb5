"""SQL queries written by the LLM from a database's schema, kept only when they parse and execute.

Also home of :class:`LLMDatabaseAccess`, what the Text-to-SQL LLM operators share: the schema of each
row's database for the prompt, several requests per row sent in one call, and the checks a generated
query must pass (one read-only query that parses in the database's dialect and runs).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, read_answer
from dataflow.core.llm_types import LLMRequest, LLMResult
from dataflow.core.operator import OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import SQLGLOT
from dataflow.operators.text2sql.execution import DatabaseAccess

DEFAULT_TEMPLATE = "text2sql/sql_generate"
COMPLEXITIES = ("simple", "moderate", "complex", "highly complex")
#: The answer of the operators that ask for one query.
SQL_ANSWER = {"type": "object", "properties": {"sql": {"type": "string", "minLength": 1}},
              "required": ["sql"], "additionalProperties": False}
DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


class LLMDatabaseAccess(DatabaseAccess):
    """:class:`DatabaseAccess` for LLM operators: schemas for prompts, several requests per row, SQL checks."""

    requires = SQLGLOT

    @property
    def dialect_name(self) -> str:
        """The dialect as prompts name it (``SQLite``, ``PostgreSQL``)."""
        return DIALECT_NAMES.get(self.dialect, self.dialect)

    def row_schemas(self, batch: pd.DataFrame, ctx: Any) -> list[str | Reject]:
        """Each row's schema text, or a Reject naming why its database cannot be read."""
        schemas: list[str | Reject] = []
        for db_id in self.db_ids(batch, ctx):
            try:
                schemas.append(self.schema_text(db_id))
            except Exception as exc:  # noqa: BLE001 - a missing file or a refused connection rejects the row
                schemas.append(Reject(f"database: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"))
        return schemas

    def request_seeds(self, n: int) -> list[int]:
        """``n`` different seeds from the operator's (0 when unset), so a row's requests differ, also
        through the response cache."""
        base = self.sampling.seed if self.sampling.seed is not None else 0
        return [base + k for k in range(n)]

    def ask_each(self, ctx: Any, requests: list[list[LLMRequest]]) -> list[list[Any]]:
        """Per row, what ``parse`` made of the answer to each of its requests (or a Reject), in order;
        the requests of all rows go to the serving together."""
        results = self.call(ctx, [r for row in requests for r in row])
        answers = iter(read_answer(result, self.parse) for result in results)
        return [[next(answers) for _ in row] for row in requests]

    def sql_key(self, sql: str) -> str:
        """The query's normalised text (sqlglot's layout, names lowercased), to tell real differences from
        rewordings; the collapsed lowercase text when it does not parse."""
        from dataflow.lib.sql_parse import SQLParseError, parse_query, sql_template

        try:
            return sql_template(parse_query(sql, self.dialect), self.dialect, mask_literals=False)
        except SQLParseError:
            return " ".join(sql.lower().split())

    def check_sql(self, db_id: str, sql: str) -> str | None:
        """Why ``sql`` is unusable on ``db_id``, or None: it must be one query (SELECT, WITH, a set
        operation) that parses in the database's dialect and executes (read-only, time-limited)."""
        from dataflow.lib.sql_parse import SQLParseError, parse_query

        try:
            parse_query(sql, self.dialect)
        except SQLParseError as exc:
            return f"sql parse error: {exc}"
        result = self.databases().execute(db_id, sql)
        return None if result.ok else result.reason

    def usable_candidates(self, db_id: str, answers: list[Any], seen: set[str] | None = None
                          ) -> tuple[list[tuple[int, str]], str | Reject]:
        """([(request index, SQL)] of the answers that pass :meth:`check_sql` and differ from each other and
        from ``seen``; why none did). When no answer could even be read (failed calls), the second item
        is the first answer's Reject, so the row is retried instead of dropped."""
        seen = set(seen or ())
        kept: list[tuple[int, str]] = []
        failures: list[str] = []
        for k, sql in enumerate(answers):
            if isinstance(sql, Reject):
                failures.append(sql.reason)
                continue
            key = self.sql_key(sql)
            why = "duplicate SQL" if key in seen else self.check_sql(db_id, sql)
            if why is None:
                seen.add(key)
                kept.append((k, sql))
            else:
                failures.append(why)
        if not kept and answers and all(isinstance(a, Reject) for a in answers):
            return kept, answers[0]
        distinct = list(dict.fromkeys(failures))
        return kept, f"no usable SQL among {len(answers)} candidates: {'; '.join(distinct[:3])}"

    def result_preview(self, db_id: str, sql: str, rows: int = 5, cell_chars: int = 40) -> str:
        """The query's first ``rows`` rows as a small text table for a prompt ('' when it fails)."""
        result = self.databases().execute(db_id, sql) if sql.strip() else None
        if result is None or not result.ok:
            return ""

        def cell(value: Any) -> str:
            text = "NULL" if value is None else str(value)
            return text if len(text) <= cell_chars else text[:cell_chars - 3] + "..."

        lines = [" | ".join(result.columns)] + [" | ".join(map(cell, r)) for r in result.rows[:rows]]
        more = len(result.rows) - rows
        if more > 0 or result.truncated:
            lines.append(f"... ({'more than ' if result.truncated else ''}{len(result.rows)} rows in all)")
        return "\n".join(lines) if result.rows else "\n".join(lines + ["(no rows)"])


def parse_sql_answer(answer: LLMResult) -> str:
    """The query of a ``{"sql": ...}`` answer, without a trailing semicolon; ValueError when blank."""
    sql = answer.parsed["sql"].strip().rstrip(";").strip()
    if not sql:
        raise ValueError("empty SQL")
    return sql


@register_operator
class SQLGenerator(LLMDatabaseAccess, LLMGenerator):
    """Writes ``num_sql`` SQL queries for the database each row names (``input_db_id_key``), each a new
    row keeping the input row's columns, with the query in ``output_sql_key`` and the complexity asked
    for in ``output_complexity_key``.

    The prompt (template ``text2sql/sql_generate``) shows the database's schema with sample values and
    asks for one query of a given complexity: the requests of a row cycle through ``complexities``
    (simple, moderate, complex, highly complex) and each has its own seed (``seed + k``), so the
    candidates differ. The answer is JSON ``{"sql": "..."}``. A candidate is kept only when it is one
    query (SELECT, WITH, a set operation) that parses with sqlglot in the database's dialect and
    executes on the database (read-only, within ``timeout_s``) and is not a duplicate of an earlier
    candidate of the row (same normalised text). An empty result still counts as executing (follow with
    ``SQLExecutionFilter`` to require rows). A row left with no query is dropped with the reasons
    (``no usable SQL among 4 candidates: error: no such column: x; duplicate SQL``); a row whose
    database cannot be opened, or whose every request failed, goes to the rejects.
    """

    output_sql_key = OutputColumn("SQL", "str", description="a generated query that executes")
    output_complexity_key = OutputColumn("sql_complexity", "str", description="the complexity asked for")
    default_template = DEFAULT_TEMPLATE
    provided_variables = frozenset({"schema", "dialect", "complexity"})
    new_rows = True
    no_output_reason = "no usable SQL generated"

    def __init__(self, db_root: str | None = None, db_url: str | None = None, num_sql: int = 4,
                 complexities: tuple[str, ...] = COMPLEXITIES, timeout_s: float = 10.0, max_rows: int = 10_000,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.8, max_tokens: int = 512, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        if num_sql < 1 or not complexities:
            raise ValueError("num_sql must be at least 1 and complexities non-empty")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.num_sql, self.complexities = num_sql, tuple(complexities)

    def schema(self) -> dict:
        return SQL_ANSWER

    def parse(self, answer: LLMResult) -> str:
        return parse_sql_answer(answer)

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        schemas = self.row_schemas(batch, ctx)
        levels = [self.complexities[k % len(self.complexities)] for k in range(self.num_sql)]
        texts = [s if isinstance(s, str) else "" for s in schemas]
        prompts = [self.render_prompts(batch, schema=texts, dialect=self.dialect_name, complexity=level)
                   for level in levels]
        seeds = self.request_seeds(self.num_sql)
        requests = [[] if isinstance(s, Reject) else
                    [self.sampling.request(prompts[k][i], SQL_ANSWER, seed=seeds[k]) for k in range(self.num_sql)]
                    for i, s in enumerate(schemas)]
        answers = []
        for schema, db_id, row in zip(schemas, self.db_ids(batch, ctx), self.ask_each(ctx, requests)):
            kept, why = (([], schema) if isinstance(schema, Reject) else self.usable_candidates(db_id, row))
            # no usable query: the answer is the reason, the row's own drop reason
            answers.append([{"output_sql_key": sql, "output_complexity_key": levels[k]} for k, sql in kept] or why)
        return self.answer_rows(answers, ctx.cols)
