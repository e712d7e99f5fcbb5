"""Chain-of-thought solutions to math questions, ending in a fixed final-answer format."""

from __future__ import annotations

from typing import Any

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import QuestionPrompts

DEFAULT_SYSTEM_PROMPT = "You are a careful math tutor. You solve problems step by step and check your arithmetic."


@register_operator
class ReasoningAnswerGenerator(QuestionPrompts, LLMGenerator):
    """Asks the LLM to solve each question step by step, ending with ``The final answer is \\boxed{...}``.

    The solution text goes to ``output_key``. ``reasoning/answer`` asks for the ``\\boxed{}`` form that
    :class:`ReasoningAnswerExtractionGenerator` reads and :class:`ReasoningAnswerFormatterFilter` checks.
    Greedy by default (``temperature=0``); ``max_tokens`` bounds the solution length (a cut-off
    solution has no final answer and is dropped later by the format filter). Blank questions, failed
    calls and empty answers go to the rejects with the reason.
    """

    input_key = InputColumn("question")
    output_key = OutputColumn("generated_cot", "str")

    def __init__(self, prompt_template: str = "reasoning/answer", system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
                 temperature: float = 0.0, max_tokens: int = 512, seed: int | None = None,
                 llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
