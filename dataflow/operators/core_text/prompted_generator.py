"""LLM generation from each row: a Jinja2 template, a ``str.format`` template, or a column plus a system
prompt (the reference DataFlow's way)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Bindings, Column, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.core_text._llm import (
    ask,
    format_str_fields,
    row_values,
    split_failures,
    template_or_none,
)


@register_operator
class PromptedGenerator(Generator):
    """Asks the LLM once per row and writes the answer to ``output_key``.

    The prompt is ``prompt_template`` rendered with the row (a Jinja2 template text or a registered
    template name such as ``core_text/summarize``; the columns it reads are checked by ``compile()``), or,
    without a template, the text of ``input_key``. ``system_prompt`` is sent as the system message.
    With ``json_schema`` the answer is schema-constrained, validated and stored parsed (a dict).
    Rows whose call fails (after retries and repair) go to the rejects file with the reason.
    """

    resources = ("llm",)
    input_key = InputColumn(None, "str", description="the prompt text when no prompt_template is given")
    output_key = OutputColumn("generated_content")

    def __init__(self, prompt_template: str | None = None, system_prompt: str | None = None,
                 json_schema: dict[str, Any] | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.json_schema = json_schema
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self._template = template_or_none(prompt_template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)
        if self._template is not None:
            cols.update({c: Column(c, "input", "any") for c in self._template.columns()})
        elif not bindings.get("input_key"):
            raise_missing = Column(None, "input", "str")
            cols["(bind input_key or give a prompt_template)"] = raise_missing
        return cols

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[str]:
        if self._template is not None:
            rows = row_values(batch, self._template.columns())
            return [self._template.render(**row) for row in rows]
        return [str(v) for v in batch[ctx.cols.input_key].tolist()]

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        results = ask(ctx, self.prompts(batch, ctx), system=self.system_prompt, json_schema=self.json_schema,
                      temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)
        values = [r.parsed if self.json_schema is not None else r.text for r in results]
        empty = {i: "llm: empty answer" for i, r in enumerate(results)
                 if r.error is None and self.json_schema is None and not (r.text or "").strip()}
        return split_failures(batch, results, {ctx.cols.output_key: values}, empty)


@register_operator
class FormatStrPromptedGenerator(PromptedGenerator):
    """Like :class:`PromptedGenerator`, with a Python ``str.format`` template: ``"Q: {question}"``.

    Each ``{placeholder}`` is filled from the column of the same name, or from the column that
    ``columns`` maps it to (``columns={"question": "problem"}``).
    """

    def __init__(self, template: str, columns: dict[str, str] | None = None, system_prompt: str | None = None,
                 json_schema: dict[str, Any] | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(None, system_prompt, json_schema, temperature, max_tokens, seed, llm_serving)
        self.template = template
        self.columns = dict(columns or {})
        self.fields = format_str_fields(template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        return {self.columns.get(f, f): Column(None, "input", "any") for f in self.fields}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[str]:
        sources = [self.columns.get(f, f) for f in self.fields]
        rows = row_values(batch, list(dict.fromkeys(sources)))
        return [self.template.format(**{f: row[self.columns.get(f, f)] for f in self.fields}) for row in rows]
