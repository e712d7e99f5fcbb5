"""The text-to-SQL training prompt: database schema, dialect, question and evidence in one text."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.fileio import frame_to_records
from dataflow.core.llm_operator import column_texts
from dataflow.core.operator import Bindings, Column, Generator, InputColumn, OutputColumn, Reject
from dataflow.core.prompts import resolve_template
from dataflow.core.registry import register_operator
from dataflow.operators.text2sql.execution import DatabaseAccess

DEFAULT_TEMPLATE = "text2sql/text2sql_prompt"
DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@register_operator
class Text2SQLPromptGenerator(DatabaseAccess, Generator):
    """Writes each row's prompt for a text-to-SQL model: the template (``text2sql/text2sql_prompt``)
    rendered with ``schema`` (the row's database as ``CREATE TABLE`` statements with
    ``sample_values`` example values per column, from ``db_root`` / ``db_url``), ``dialect``
    ("SQLite" or "PostgreSQL"), ``question`` and ``evidence`` (empty when unbound or null; the default
    template then leaves its line out). The default template asks for step-by-step reasoning ending in
    a ```sql block, the form :class:`Text2SQLCoTGenerator` answers in and
    :func:`~dataflow.lib.sql_parse.extract_sql` reads. Any other variable of a custom template is read
    from the row's column of that name. Calls no LLM.

    A row whose database does not exist (or cannot be opened) is rejected with the reason
    (``unknown database: no database 'x' under ...``), a row with a blank question with ``no question``.
    """

    input_question_key = InputColumn("question", "str")
    input_evidence_key = InputColumn("evidence", "str", nullable=True, description="optional: bind None to leave out")
    output_prompt_key = OutputColumn("prompt", "str")
    provided_variables = frozenset({"schema", "dialect", "question", "evidence"})

    def __init__(self, db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 max_rows: int = 10_000, sample_values: int = 3, prompt_template: str = DEFAULT_TEMPLATE) -> None:
        super().__init__()
        if sample_values < 0:
            raise ValueError("sample_values must be >= 0")
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.sample_values = sample_values
        self.template = resolve_template(prompt_template)

    def fingerprint_extras(self) -> list[Any]:
        return [self.template.source]  # a named template can be edited on disk

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)
        cols.update({c: Column(c, "input", "any") for c in self.template.columns(self.provided_variables)})
        return cols

    def schema_or_reject(self, db_id: str) -> str | Reject:
        try:
            return self.schema_text(db_id, self.sample_values)
        except Exception as exc:  # noqa: BLE001 - a missing file or a refused connection is the row's problem
            return Reject(f"unknown database: {exc}")

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        extra = self.template.columns(self.provided_variables)
        rows = frame_to_records(batch[extra], internal=True) if extra else [{}] * len(batch)
        dialect = DIALECT_NAMES.get(self.dialect, self.dialect)
        prompts: list[Any] = []
        for db_id, question, evidence, row in zip(self.db_ids(batch, ctx), column_texts(batch, cols.input_question_key),
                                                  column_texts(batch, cols.get("input_evidence_key")), rows):
            if not question.strip():
                prompts.append(Reject("no question"))
                continue
            schema = self.schema_or_reject(db_id)
            prompts.append(schema if isinstance(schema, Reject) else self.template.render(
                **row, schema=schema, dialect=dialect, question=question, evidence=evidence))
        return {cols.output_prompt_key: prompts}
