"""Difficulty of a text-to-SQL sample measured by execution: how often the model's own SQL returns gold's result."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMEvaluator
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import extract_sql
from dataflow.operators.text2sql.execution import DatabaseAccess, _match

DEFAULT_TEMPLATE = "text2sql/sql_attempt"


@register_operator
class SQLExecutionClassifier(DatabaseAccess, LLMEvaluator):
    """Labels each sample easy / medium / hard / extra by how often the model answers it right.

    The model answers the row's prompt (``input_prompt_key``, e.g. from :class:`Text2SQLPromptGenerator`,
    through the template ``text2sql/sql_attempt``) ``num_generations`` times, with seeds ``seed``,
    ``seed + 1``, ... at ``temperature``. An attempt is correct when its query (the last ```sql block,
    :func:`~dataflow.lib.sql_parse.extract_sql`) returns the gold SQL's (``input_sql_key``) result on the
    row's database, compared as :class:`SQLExecutionMatchEvaluator` compares; an attempt without a
    query, or whose query fails, is wrong. With ``share`` = correct / ``num_generations``:

    * easy: ``share >= easy_threshold`` (0.8: 4 or 5 of 5),
    * medium: ``share >= medium_threshold`` (0.5: 3 of 5),
    * hard: ``share >= hard_threshold`` (0.2: 1 or 2 of 5),
    * extra: below (none right).

    Writes the label to ``output_key`` and the number of correct attempts to ``output_correct_key``. A
    row whose gold SQL fails (``gold SQL fails: ...``) or returns more than ``max_rows`` rows is rejected
    without a call; a row with a failed call is rejected with its error (a missing attempt would bias
    the label), so a re-run retries it.
    """

    input_prompt_key = InputColumn("prompt", "str")
    input_sql_key = InputColumn("SQL", "str", nullable=True, description="the gold SQL")
    output_key = OutputColumn("sql_execution_difficulty", "str", description="easy, medium, hard or extra")
    output_correct_key = OutputColumn("execution_correct_count", "int", description="attempts with gold's result")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"prompt": "input_prompt_key"}

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, num_generations: int = 5, easy_threshold: float = 0.8,
                 medium_threshold: float = 0.5, hard_threshold: float = 0.2, float_tolerance: float = 1e-9,
                 prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.7, max_tokens: int = 2048, seed: int = 0, llm_serving: Any = None) -> None:
        if num_generations < 1:
            raise ValueError("num_generations must be >= 1")
        if not 0 < hard_threshold <= medium_threshold <= easy_threshold <= 1:
            raise ValueError("need 0 < hard_threshold <= medium_threshold <= easy_threshold <= 1")
        if num_generations > 1 and temperature <= 0:
            raise ValueError("temperature must be > 0 for several generations: greedy ones would be the same")
        if float_tolerance < 0:
            raise ValueError("float_tolerance must be >= 0")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.num_generations, self.float_tolerance = num_generations, float_tolerance
        self.thresholds = (("easy", easy_threshold), ("medium", medium_threshold), ("hard", hard_threshold))

    def label(self, correct: int) -> str:
        share = correct / self.num_generations
        return next((name for name, least in self.thresholds if share >= least), "extra")

    def correct_count(self, texts: list[str], gold: Any, gold_sql: str, db_id: str) -> int:
        """How many of the answers ``texts`` hold a query returning ``gold``'s result."""
        count = 0
        for text in texts:
            sql = extract_sql(text)
            if sql is not None:
                # A Reject here means the attempt's result exceeds max_rows: gold's does not, so it differs.
                count += _match(gold, self.databases().execute(db_id, sql), gold_sql, self.dialect,
                                self.float_tolerance) is True
        return count

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        golds = self.execute_column(batch, ctx, "input_sql_key")
        gold_sqls = batch[cols.input_sql_key].tolist()
        labels: list[Any] = [Reject(f"gold SQL fails: {g.reason}") if not g.ok else
                             Reject("gold result over max_rows rows: cannot be compared whole") for g in golds]
        counts: list[Any] = [None] * len(batch)
        todo = [i for i, g in enumerate(golds) if g.ok and not g.truncated]
        n, seed = self.num_generations, self.sampling.seed or 0
        prompts = self.prompts(batch.iloc[todo], ctx)
        results = self.call(ctx, [self.sampling.request(p, seed=seed + k) for p in prompts for k in range(n)])
        db_ids = self.db_ids(batch, ctx)
        for j, i in enumerate(todo):
            answers = results[j * n:(j + 1) * n]
            failed = next((r.error for r in answers if r.error is not None), None)
            if failed is not None:
                labels[i] = Reject(f"llm: {failed}")
                continue
            counts[i] = self.correct_count([r.text or "" for r in answers], golds[i], gold_sqls[i], db_ids[i])
            labels[i] = self.label(counts[i])
        out = {cols.output_key: labels, cols.get("output_correct_key"): pd.Series(counts, dtype=object, index=batch.index)}
        return {col: values for col, values in out.items() if col}
