"""Step-by-step reasoning toward a known SQL query: several sampled chains of thought per question."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.sql_parse import extract_sql
from dataflow.operators.text2sql.execution import DatabaseAccess

DEFAULT_TEMPLATE = "text2sql/cot_generate"


@register_operator
class Text2SQLCoTGenerator(DatabaseAccess, LLMGenerator):
    """Writes ``num_candidates`` chains of thought per row, each reasoning from the row's prompt
    (``input_prompt_key``, e.g. from :class:`Text2SQLPromptGenerator`) to a final query in a ```sql
    block, as the list ``output_cot_key``.

    The template (``text2sql/cot_generate``) shows the model the prompt and the gold SQL
    (``input_sql_key``) and asks for reasoning of its own that reaches a query with the same result.
    The candidates are sampled with seeds ``seed``, ``seed + 1``, ... at ``temperature`` (0.7 by
    default; it must be > 0 for more than one candidate, or they would all be the same). A candidate
    is kept when :func:`~dataflow.lib.sql_parse.extract_sql` finds its query; whether that query
    returns gold's result is :class:`Text2SQLCoTVotingGenerator`'s check.

    The gold SQL is run first (read-only, ``timeout_s``, on the row's database): a row whose gold SQL
    fails is rejected without a call (``gold SQL fails: error: no such column: x``). A row left
    without a candidate is rejected too (``no sql block in 3 answers``, or the call's error when every
    call failed), so a re-run retries it.
    """

    input_prompt_key = InputColumn("prompt", "str")
    input_sql_key = InputColumn("SQL", "str", nullable=True, description="the gold SQL the reasoning reaches")
    output_cot_key = OutputColumn("cot_responses", "list", description="the answers, each ending in a sql block")
    default_template = DEFAULT_TEMPLATE
    prompt_inputs = {"prompt": "input_prompt_key", "sql": "input_sql_key"}

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, num_candidates: int = 3, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.7, max_tokens: int = 2048,
                 seed: int = 0, llm_serving: Any = None) -> None:
        if num_candidates < 1:
            raise ValueError("num_candidates must be >= 1")
        if num_candidates > 1 and temperature <= 0:
            raise ValueError("temperature must be > 0 for several candidates: greedy ones would be the same")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.num_candidates = num_candidates

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        golds = self.execute_column(batch, ctx, "input_sql_key")
        todo = [i for i, gold in enumerate(golds) if gold.ok]
        prompts = self.prompts(batch.iloc[todo], ctx)
        n, seed = self.num_candidates, self.sampling.seed or 0
        results = self.call(ctx, [self.sampling.request(p, seed=seed + k) for p in prompts for k in range(n)])
        out: list[Any] = [Reject(f"gold SQL fails: {gold.reason}") for gold in golds]
        for j, i in enumerate(todo):
            answers = results[j * n:(j + 1) * n]
            texts = [r.text.strip() for r in answers if r.error is None and r.text]
            kept = [t for t in texts if extract_sql(t) is not None]
            failed = [r.error for r in answers if r.error is not None]
            out[i] = kept or Reject(f"llm: {failed[0]}" if len(failed) == n else f"no sql block in {n} answers")
        # An object Series: pandas would read a list of equal-length lists as a 2-D array.
        return {ctx.cols.output_cot_key: pd.Series(out, dtype=object, index=batch.index)}
