"""Chain-of-thought solutions to math questions, ending in a fixed final-answer format."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import BatchResult, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import TemplatedLLM, ask, is_blank, rejected_rows

DEFAULT_SYSTEM_PROMPT = "You are a careful math tutor. You solve problems step by step and check your arithmetic."


@register_operator
class ReasoningAnswerGenerator(TemplatedLLM, Generator):
    """Asks the LLM to solve each question step by step, ending with ``The final answer is \\boxed{...}``.

    The solution text goes to ``output_key``. ``reasoning/answer`` asks for the ``\\boxed{}`` form that
    :class:`ReasoningAnswerExtractionGenerator` reads and :class:`ReasoningAnswerFormatterFilter` checks.
    Greedy by default (``temperature=0``); ``max_tokens`` bounds the solution length (a cut-off
    solution has no final answer and is dropped later by the format filter). Blank questions, failed
    calls and empty answers go to the rejects with the reason.
    """

    resources = ("llm",)
    input_key = InputColumn("question")
    output_key = OutputColumn("generated_cot", "str")

    def __init__(self, prompt_template: str = "reasoning/answer", system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
                 temperature: float = 0.0, max_tokens: int = 512, seed: int | None = None,
                 llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self._setup_template()

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        questions = batch[ctx.cols.input_key].tolist()
        failures = {i: "empty question" for i, q in enumerate(questions) if is_blank(q)}
        todo = [i for i in range(len(batch)) if i not in failures]
        prompts = self.render_prompts(batch.iloc[todo], question=[questions[i] for i in todo])
        results = ask(ctx, prompts, system=self.system_prompt, temperature=self.temperature,
                      max_tokens=self.max_tokens, seed=self.seed)
        texts: dict[int, str] = {}
        for i, result in zip(todo, results):
            if result.error is not None:
                failures[i] = f"llm: {result.error}"
            elif is_blank(result.text):
                failures[i] = "llm: empty answer"
            else:
                texts[i] = result.text.strip()
        ok = [i for i in range(len(batch)) if i not in failures]
        column = ctx.cols.output_key
        return BatchResult(batch.iloc[ok].assign(**{column: [texts[i] for i in ok]}), written=[column],
                           rejected=rejected_rows(batch, failures))
