"""Question-answer rows as SFT records: Alpaca, ShareGPT or the OpenAI-style messages LlamaFactory reads."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from dataflow.core.llm_operator import column_texts
from dataflow.core.operator import Bindings, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator

DEFAULT_INSTRUCTION = "Answer the question using the reference text."


@register_operator
class QAExtractor(Generator):
    """Writes each question-answer row (``input_question_key``, ``input_answer_key``) as an SFT record in
    the ``format`` chosen, so that the pipeline's output file is the SFT file:

    * ``"alpaca"``: ``instruction`` (the question), ``input`` and ``output`` (the answer), the columns
      of Alpaca and of LlamaFactory's ``alpaca`` format;
    * ``"sharegpt"``: ``conversations``, ``[{"from": "human", "value": question}, {"from": "gpt",
      "value": answer}]`` (ShareGPT, LlamaFactory's ``sharegpt`` format);
    * ``"llamafactory"``: ``messages``, ``[{"role": "user", ...}, {"role": "assistant", ...}]`` (the
      OpenAI-style records LlamaFactory reads with ``formatting: sharegpt`` and the ``role``/``content``
      tags).

    With ``include_context`` the chunk in ``input_context_key`` goes with the question, after
    ``instruction`` (Alpaca: ``instruction`` holds the instruction and the question, ``input`` the
    chunk; the chat formats: one user turn with the instruction, the reference text and the question);
    without it the question stands alone and Alpaca's ``input`` is empty. ``system_prompt``, when given,
    is a ``system`` column (Alpaca), or a first ``system`` turn. Only the chosen format's columns are
    written. A row with an empty question or answer is dropped (``empty question or answer``).
    """

    input_question_key = InputColumn("question", "str", nullable=True)
    input_answer_key = InputColumn("answer", "str", nullable=True)
    input_context_key = InputColumn("cleaned_chunk", "str", nullable=True,
                                    description="read when include_context")
    output_instruction_key = OutputColumn("instruction", "str", description="alpaca")
    output_input_key = OutputColumn("input", "str", description="alpaca")
    output_output_key = OutputColumn("output", "str", description="alpaca")
    output_system_key = OutputColumn("system", "str", description="alpaca, with system_prompt")
    output_conversations_key = OutputColumn("conversations", "list", description="sharegpt")
    output_messages_key = OutputColumn("messages", "list", description="llamafactory")
    no_output_reason = "empty question or answer"
    FORMATS: ClassVar[dict[str, tuple[str, ...]]] = {
        "alpaca": ("output_instruction_key", "output_input_key", "output_output_key", "output_system_key"),
        "sharegpt": ("output_conversations_key",), "llamafactory": ("output_messages_key",)}

    def __init__(self, format: str = "alpaca", include_context: bool = False,
                 instruction: str = DEFAULT_INSTRUCTION, system_prompt: str | None = None) -> None:
        if format not in self.FORMATS:
            raise ValueError(f"format must be one of {sorted(self.FORMATS)}, not {format!r}")
        super().__init__()
        self.format, self.include_context = format, include_context
        self.instruction, self.system_prompt = instruction, system_prompt

    def written_bindings(self) -> tuple[str, ...]:
        names = self.FORMATS[self.format]
        return tuple(n for n in names if n != "output_system_key" or self.system_prompt)

    def input_columns(self, bindings: Bindings) -> dict[str, Any]:
        cols = super().input_columns(bindings)
        if not self.include_context:  # the chunk is not read, so it need not exist
            cols.pop(bindings.get("input_context_key"), None)
        return cols

    def output_columns(self, bindings: Bindings) -> list[str]:
        return [bindings[n] for n in self.written_bindings() if bindings.get(n)]

    def record(self, question: str, answer: str, context: str) -> dict[str, Any]:
        """{binding name: value} of one pair in the chosen format."""
        if self.format == "alpaca":
            instruction = f"{self.instruction}\n\n{question}" if self.include_context else question
            return {"output_instruction_key": instruction, "output_input_key": context,
                    "output_output_key": answer, "output_system_key": self.system_prompt}
        user = (f"{self.instruction}\n\nReference text:\n{context}\n\nQuestion: {question}"
                if self.include_context else question)
        if self.format == "sharegpt":
            turns = [("human", user), ("gpt", answer)]
            system = [{"from": "system", "value": self.system_prompt}] if self.system_prompt else []
            return {"output_conversations_key": system + [{"from": f, "value": v} for f, v in turns]}
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return {"output_messages_key": system + [{"role": "user", "content": user},
                                                 {"role": "assistant", "content": answer}]}

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        cols = ctx.cols
        contexts = column_texts(batch, cols.get("input_context_key") if self.include_context else None)
        parents, records = [], []
        for i, (q, a) in enumerate(zip(column_texts(batch, cols.input_question_key),
                                       column_texts(batch, cols.input_answer_key))):
            if q.strip() and a.strip():
                parents.append(i)
                records.append(self.record(q.strip(), a.strip(), contexts[i].strip()))
        names = [n for n in self.written_bindings() if cols.get(n)]
        return pd.DataFrame({"_parent": pd.Series(parents, dtype="int64"),
                             **{cols[n]: pd.Series([r[n] for r in records], dtype=object) for n in names}})
