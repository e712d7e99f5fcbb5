"""Keeps the question/SQL pairs in which the SQL answers the question, as the LLM judges on the schema."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMFilter, column_texts
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.text2sql.sql_generator import LLMDatabaseAccess

DEFAULT_TEMPLATE = "text2sql/correspondence"
VERDICT = {"type": "object", "properties": {"matches": {"type": "boolean"},
                                            "reason": {"type": "string", "maxLength": 300}},
           "required": ["matches", "reason"], "additionalProperties": False}


@register_operator
class Text2SQLCorrespondenceFilter(LLMDatabaseAccess, LLMFilter):
    """Keeps a row only when its SQL (``input_sql_key``) answers its question (``input_question_key``,
    with the external knowledge in ``input_evidence_key`` when bound) on the row's database.

    The LLM sees the schema with sample values, the question, the evidence, the SQL and its first result
    rows (template ``text2sql/correspondence``) and answers JSON ``{"matches": bool, "reason": str}``;
    the verdict goes to ``output_key`` (also on dropped rows). A mismatch is dropped with
    ``question and SQL disagree: <the model's reason>``; a row without a question or without SQL is not
    sent and dropped (``no question`` / ``no SQL``). A row whose database cannot be opened, or whose call
    failed, goes to the rejects.
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_sql_key = InputColumn("SQL", "str", nullable=True)
    input_evidence_key = InputColumn(None, "str", nullable=True, description="optional external knowledge")
    output_key = OutputColumn("correspondence", "bool", description="whether the SQL answers the question")
    default_template = DEFAULT_TEMPLATE
    provided_variables = frozenset({"schema", "dialect", "question", "evidence", "sql", "result"})
    answer_keys = ("reason",)

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 256, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)

    def schema(self) -> dict:
        return VERDICT

    def parse(self, answer: LLMResult) -> dict[str, Any]:
        return {"output_key": bool(answer.parsed["matches"]), "reason": answer.parsed["reason"].strip()}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        cols = ctx.cols
        questions = [q.strip() for q in column_texts(batch, cols.input_question_key)]
        sqls = [s.strip() for s in column_texts(batch, cols.input_sql_key)]
        sent = [bool(q and s) for q, s in zip(questions, sqls)]
        schemas = [s if go else None for s, go in zip(self.row_schemas(batch, ctx), sent)]
        results = [self.result_preview(d, sql) if isinstance(s, str) else ""
                   for d, sql, s in zip(self.db_ids(batch, ctx), sqls, schemas)]
        prompts = self.render_prompts(batch, schema=[s if isinstance(s, str) else "" for s in schemas],
                                      dialect=self.dialect_name, question=questions, sql=sqls, result=results,
                                      evidence=[e.strip() for e in column_texts(batch, cols.get("input_evidence_key"))])
        return [p if isinstance(s, str) else s for p, s in zip(prompts, schemas)]

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        scores = super().score(batch, ctx)
        scores["empty"] = ["no question" if not q.strip() else "no SQL" if not s.strip() else None for q, s in
                           zip(column_texts(batch, ctx.cols.input_question_key),
                               column_texts(batch, ctx.cols.input_sql_key))]
        return scores

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        reasons = [empty or (None if matches else f"question and SQL disagree: {why or 'no reason given'}")
                   for empty, matches, why in zip(scores["empty"], scores["output_key"], scores["reason"])]
        return [r is None for r in reasons], [r or "" for r in reasons]
