"""The execution-consistency vote over a row's chains of thought: the answer most candidates agree on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import Filter, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import extract_sql
from dataflow.operators.text2sql.execution import DatabaseAccess, _match


def _candidates(cell: Any) -> list[str]:
    """A list cell (a list, or the array a parquet file gives back) as texts; a single text is one."""
    if isinstance(cell, str):
        return [cell]
    if isinstance(cell, (list, tuple, np.ndarray)):
        return [c for c in cell if isinstance(c, str)]
    return []


@register_operator
class Text2SQLCoTVotingGenerator(DatabaseAccess, Filter):
    """Chooses one chain of thought per row by execution consistency, and keeps the row only when the
    choice is verified.

    Each candidate of ``input_cot_key`` (e.g. from :class:`Text2SQLCoTGenerator`) gets its query from
    :func:`~dataflow.lib.sql_parse.extract_sql`, run read-only on the row's database. Candidates that
    execute are grouped by equal result, compared as :class:`SQLExecutionMatchEvaluator` compares (rows
    as a multiset, in order when the group's first query has a top-level ORDER BY; numbers as numbers
    within ``float_tolerance``). The largest group wins; between groups of equal size, the one holding
    the earliest candidate. Its first candidate is written to ``output_cot_key``, its query to
    ``output_voted_sql_key`` and the group's size to ``output_votes_key``. A candidate without a query,
    whose query fails or times out, or whose result exceeds ``max_rows`` (so cannot be compared whole)
    does not vote.

    Drops, with the reason: fewer than ``min_executable`` candidates that execute (``only 0 of 3
    candidates execute (min_executable 1)``); with the gold SQL bound (``input_sql_key``; bind None to
    vote without it), a winner whose result is not gold's (``voted SQL differs from the gold SQL``). So
    a row is never kept with an unverified answer. A row whose gold SQL fails is rejected with the reason
    (``gold SQL fails: ...``). Calls no LLM.
    """

    input_cot_key = InputColumn("cot_responses", "list", nullable=True, description="the candidate answers")
    input_sql_key = InputColumn("SQL", "str", nullable=True, description="optional gold SQL the winner must match")
    output_cot_key = OutputColumn("cot_reasoning", "str", description="the chosen answer")
    output_voted_sql_key = OutputColumn("voted_SQL", "str", description="the chosen answer's query")
    output_votes_key = OutputColumn("cot_votes", "int", description="candidates with the winner's result")

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, min_executable: int = 1, float_tolerance: float = 1e-9) -> None:
        super().__init__()
        if min_executable < 1:
            raise ValueError("min_executable must be >= 1")
        if float_tolerance < 0:
            raise ValueError("float_tolerance must be >= 0")
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.min_executable, self.float_tolerance = min_executable, float_tolerance

    def vote(self, texts: list[str], db_id: str) -> tuple[list[tuple[str, str, Any]], str | None]:
        """(the winning group as (text, sql, result) in candidate order, or [] with the reason to drop)."""
        from dataflow.lib.sql import has_order_by, results_match

        groups: list[list[tuple[str, str, Any]]] = []
        for text in texts:
            sql = extract_sql(text)
            result = self.databases().execute(db_id, sql) if sql else None
            if result is None or not result.ok or result.truncated:
                continue
            for group in groups:
                _, first_sql, first = group[0]
                if results_match(first.rows, result.rows, has_order_by(first_sql, self.dialect), self.float_tolerance):
                    group.append((text, sql, result))
                    break
            else:
                groups.append([(text, sql, result)])
        executable = sum(len(g) for g in groups)
        if executable < self.min_executable:
            return [], f"only {executable} of {len(texts)} candidates execute (min_executable {self.min_executable})"
        return max(groups, key=len), None  # max() keeps the first of equal sizes: the earliest candidate's

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        gold_sqls = batch[cols.input_sql_key].tolist() if cols.get("input_sql_key") else None
        golds = self.execute_column(batch, ctx, "input_sql_key") if gold_sqls is not None else None
        n = len(batch)
        chosen: list[Any] = [None] * n
        voted_sql: list[Any] = [None] * n
        votes: list[Any] = [None] * n
        drop: list[Any] = [None] * n
        for i, (cell, db_id) in enumerate(zip(batch[cols.input_cot_key].tolist(), self.db_ids(batch, ctx))):
            if golds is not None and not golds[i].ok:
                chosen[i] = Reject(f"gold SQL fails: {golds[i].reason}")
                continue
            winner, drop[i] = self.vote(_candidates(cell), db_id)
            if not winner:
                continue
            (chosen[i], voted_sql[i], result), votes[i] = winner[0], len(winner)
            if golds is not None:
                verdict = _match(golds[i], result, gold_sqls[i], self.dialect, self.float_tolerance)
                if isinstance(verdict, Reject):
                    chosen[i] = verdict
                elif not verdict:
                    drop[i] = "voted SQL differs from the gold SQL"
        columns = {"output_cot_key": chosen, "output_voted_sql_key": voted_sql, "output_votes_key": votes}
        return {**{k: pd.Series(v, dtype=object, index=batch.index) for k, v in columns.items()}, "drop": drop}

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        reasons = np.array(["" if r is None else r for r in scores["drop"]], dtype=object)
        return reasons == "", reasons
