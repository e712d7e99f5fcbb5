"""LLM generation from each row: a Jinja2 template, a ``str.format`` template, or a column plus a system
prompt (the reference DataFlow's way)."""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import Bindings, Column, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator


@register_operator
class PromptedGenerator(LLMGenerator):
    """Asks the LLM once per row and writes the answer to ``output_key``.

    The prompt is ``prompt_template`` rendered with the row (a Jinja2 template text or a registered
    template name such as ``core_text/summarize``; the columns it reads are checked by ``compile()``), or,
    without a template, the text of ``input_key``. ``system_prompt`` is sent as the system message.
    With ``json_schema`` the answer is schema-constrained, validated and stored parsed (a dict).
    Rows whose call fails (after retries and repair) go to the rejects file with the reason.
    """

    input_key = InputColumn(None, "str", description="the prompt text when no prompt_template is given")
    output_key = OutputColumn("generated_content")
    example_params = {"prompt_template": "Summarize: {{ text }}"}

    def __init__(self, prompt_template: str | None = None, system_prompt: str | None = None,
                 json_schema: dict[str, Any] | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        self.json_schema = json_schema

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)
        if self.template is None and not bindings.get("input_key"):
            cols["(bind input_key or give a prompt_template)"] = Column(None, "input", "str")
        return cols

    def schema(self) -> dict[str, Any] | None:
        return self.json_schema

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        if self.template is not None:
            return self.render_prompts(batch)
        return [str(v) for v in batch[ctx.cols.input_key].tolist()]

    def parse(self, answer: Any) -> Any:
        if self.json_schema is not None:
            return {"output_key": answer.parsed}
        # The text is kept as the model wrote it (not stripped); a blank one is no answer.
        return {"output_key": answer.text} if (answer.text or "").strip() else Reject("llm: empty answer")


@register_operator
class FormatStrPromptedGenerator(PromptedGenerator):
    """Like :class:`PromptedGenerator`, with a Python ``str.format`` template: ``"Q: {question}"``.

    Each ``{placeholder}`` is filled from the column of the same name, or from the column that
    ``columns`` maps it to (``columns={"question": "problem"}``).
    """

    example_params = {"template": "Summarize: {text}"}

    def __init__(self, template: str, columns: dict[str, str] | None = None, system_prompt: str | None = None,
                 json_schema: dict[str, Any] | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(None, system_prompt, json_schema, temperature, max_tokens, seed, llm_serving)
        self.format_template = template
        self.columns = dict(columns or {})
        self.fields = format_str_fields(template)

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        return {self.columns.get(f, f): Column(None, "input", "any") for f in self.fields}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        from dataflow.core.fileio import frame_to_records

        sources = list(dict.fromkeys(self.columns.get(f, f) for f in self.fields))
        rows = frame_to_records(batch[sources], internal=True) if sources else [{} for _ in range(len(batch))]
        return [self.format_template.format(**{f: row[self.columns.get(f, f)] for f in self.fields})
                for row in rows]


def format_str_fields(template: str) -> list[str]:
    """Placeholders of a ``str.format`` template, in order, without repeats."""
    names: dict[str, None] = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            names.setdefault(field.split(".")[0].split("[")[0], None)
    return list(names)
