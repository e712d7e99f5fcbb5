"""Variations of seed SQL queries (another filter, aggregate, join, ...), kept only when they are new and execute."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import Bindings, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.operators.text2sql.sql_generator import (
    SQL_ANSWER,
    LLMDatabaseAccess,
    parse_sql_answer,
)

DEFAULT_TEMPLATE = "text2sql/sql_variation"
#: The kinds of variation, with the instruction the prompt gives for each.
VARIATIONS = {
    "filter": "change its filtering: add, remove or alter a WHERE or HAVING condition",
    "aggregate": "aggregate differently: count, sum, average, minimum or maximum, or group by another column",
    "join": "join a related table through a foreign key and use its columns",
    "order": "order the result differently, or keep only the top or bottom rows with ORDER BY and LIMIT",
    "projection": "return different or additional columns of the same rows",
    "nested": "express a condition with a subquery (IN, EXISTS, or a comparison with a scalar subquery)",
}


@register_operator
class SQLVariationGenerator(LLMDatabaseAccess, LLMGenerator):
    """Writes ``num_variations`` variations of each row's query (``input_sql_key``, on the database in
    ``input_db_id_key``), each a new row keeping the input row's columns with the variation's SQL in
    ``output_sql_key`` (by default the input's own column, ``SQL``) and its kind in
    ``output_variation_key``.

    The requests of a row cycle through ``variation_types`` (``filter``, ``aggregate``, ``join``,
    ``order``, ``projection``, ``nested``; template ``text2sql/sql_variation`` gives the model each
    kind's instruction) with their own seeds (``seed + k``); the answer is JSON ``{"sql": "..."}``. A
    variation is kept only when it is a real one, its normalised text (sqlglot's layout, names
    lowercased) differing from the original's and from the row's earlier variations', and when it
    parses in the database's dialect and executes (read-only, within ``timeout_s``). With
    ``keep_original`` (the default) the input row stays too, first, with the kind ``original``; without
    it, a row left with no variation is dropped with the reasons (``no usable SQL among 3 candidates:
    duplicate SQL; error: no such column: x``). A row without SQL is not sent. A row whose database
    cannot be opened, or whose every request failed, goes to the rejects.

    Bind ``output_question_key`` (and ``output_evidence_key``) to the rows' question (and evidence)
    columns when they have them: a variation's inherited question would describe the original query, so
    it is set to null there, for :class:`Text2SQLQuestionGenerator` to write a new one.
    """

    input_sql_key = InputColumn("SQL", "str", nullable=True, description="the query to vary")
    output_sql_key = OutputColumn(None, "str", description="the variation's SQL; defaults to input_sql_key")
    output_variation_key = OutputColumn("variation_type", "str",
                                        description="the kind of variation, or 'original' for the input row")
    # The row's question describes the original query: bound, it is cleared on the variations so a
    # question generator downstream writes theirs (the original row keeps its own).
    output_question_key = OutputColumn(None, "str", description="the question column, null on variations")
    output_evidence_key = OutputColumn(None, "str", description="the evidence column, null on variations")
    default_template = DEFAULT_TEMPLATE
    provided_variables = frozenset({"schema", "dialect", "sql", "instruction"})
    new_rows = True
    no_output_reason = "no usable SQL variation"

    def __init__(self, db_root: str | None = None, db_url: str | None = None, num_variations: int = 3,
                 variation_types: tuple[str, ...] = tuple(VARIATIONS), keep_original: bool = True,
                 timeout_s: float = 10.0, max_rows: int = 10_000, prompt_template: str = DEFAULT_TEMPLATE,
                 system_prompt: str | None = None, temperature: float = 0.8, max_tokens: int = 512,
                 seed: int | None = 0, llm_serving: Any = None) -> None:
        unknown = [v for v in variation_types if v not in VARIATIONS]
        if num_variations < 1 or not variation_types or unknown:
            raise ValueError(f"num_variations must be at least 1 and variation_types non-empty, among "
                             f"{', '.join(VARIATIONS)} (unknown: {', '.join(unknown) or 'none'})")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.num_variations, self.variation_types = num_variations, tuple(variation_types)
        self.keep_original = keep_original

    def resolve_bindings(self, given: dict[str, Any]) -> Bindings:
        resolved = super().resolve_bindings(given)
        if resolved.get("output_sql_key") is None:
            # Variations replace the SQL of their rows: an intended overwrite, as a refiner's.
            resolved["output_sql_key"] = resolved["input_sql_key"]
            resolved.explicit = resolved.explicit | {"output_sql_key"}
        return resolved

    def schema(self) -> dict:
        return SQL_ANSWER

    def parse(self, answer: LLMResult) -> str:
        return parse_sql_answer(answer)

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        given = batch[ctx.cols.input_sql_key].tolist()
        sqls = [s.strip() if isinstance(s, str) else "" for s in given]
        schemas = [s if sql else None for s, sql in zip(self.row_schemas(batch, ctx), sqls)]
        kinds = [self.variation_types[k % len(self.variation_types)] for k in range(self.num_variations)]
        texts = [s if isinstance(s, str) else "" for s in schemas]
        prompts = [self.render_prompts(batch, schema=texts, dialect=self.dialect_name, sql=sqls,
                                       instruction=VARIATIONS[kind]) for kind in kinds]
        seeds = self.request_seeds(self.num_variations)
        requests = [[self.sampling.request(prompts[k][i], SQL_ANSWER, seed=seeds[k]) for k in range(len(kinds))]
                    if isinstance(s, str) else [] for i, s in enumerate(schemas)]
        kept_columns = {name: batch[ctx.cols[name]].tolist() for name in ("output_question_key", "output_evidence_key")
                        if ctx.cols.get(name) and ctx.cols[name] in batch.columns}
        answers = []
        for i, (cell, sql, schema, db_id, row) in enumerate(zip(given, sqls, schemas, self.db_ids(batch, ctx),
                                                               self.ask_each(ctx, requests))):
            own = {name: values[i] for name, values in kept_columns.items()}
            original = [{"output_sql_key": cell, "output_variation_key": "original", **own}] if self.keep_original else []
            if schema is None:
                answers.append(original or "no SQL to vary")
                continue
            kept, why = ([], schema) if isinstance(schema, Reject) else \
                self.usable_candidates(db_id, row, seen={self.sql_key(sql)})
            # nothing to keep: the answer is the reason (a Reject, or the row's own drop reason)
            answers.append(why if isinstance(why, Reject) else
                           original + [{"output_sql_key": s, "output_variation_key": kinds[k]} for k, s in kept] or why)
        return self.answer_rows(answers, ctx.cols)
