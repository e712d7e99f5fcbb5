"""Condor-style SFT synthesis: instruction/response pairs from seed topics."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.operators.general_text.llm._shared import bounded_string, distinct_pairs, pairs_budget


def pair_schema(max_instruction_chars: int = 300, max_response_chars: int = 1200) -> dict[str, Any]:
    """One instruction/response pair, both strings bounded (the grammar cannot see ``max_tokens``)."""
    return {
        "type": "object",
        "properties": {
            "instruction": bounded_string(max_instruction_chars, min_chars=10),
            "response": bounded_string(max_response_chars, min_chars=2),
        },
        "required": ["instruction", "response"],
        "additionalProperties": False,
    }


def pairs_schema(num_pairs: int, max_instruction_chars: int = 300, max_response_chars: int = 1200
                 ) -> dict[str, Any]:
    """``{"pairs": [pair, ...]}`` with exactly ``num_pairs`` items (a small model otherwise often stops at one)."""
    return {
        "type": "object",
        "properties": {
            "pairs": {"type": "array", "minItems": num_pairs, "maxItems": num_pairs,
                      "items": pair_schema(max_instruction_chars, max_response_chars)},
        },
        "required": ["pairs"],
        "additionalProperties": False,
    }


@register_operator
class CondorGenerator(LLMGenerator):
    """Turns each seed topic into ``num_pairs`` instruction/response pairs (Condor's synthesis
    step): one LLM call per topic, each pair becoming a new row.

    The answer is constrained to ``{"pairs": [{"instruction", "response"}, ...]}`` with exactly
    ``num_pairs`` items and both strings bounded (``max_instruction_chars``, ``max_response_chars``);
    ``max_tokens`` defaults to a budget in which an answer within those bounds cannot be cut. New rows
    copy the topic row's columns and get ``output_instruction_key``/``output_key`` (the SFT
    ``instruction``/``output`` fields) and, unless bound to None, an empty ``output_input_key``
    (``input``), so the rows are in Alpaca SFT form; row ids are ``<topic id>.<k>``. Pairs repeating an
    instruction already given for the same topic are skipped. Topics whose answer stays invalid go to
    the rejects with the reason. Use ``temperature > 0`` (the default 0.7, with ``seed``) for variety.
    """

    new_rows = True
    no_output_reason = "no pairs generated"
    prompt_inputs = {"topic": "input_key"}
    provided_variables = frozenset({"num_pairs", "max_response_words"})
    input_key = InputColumn("topic", "str", description="the seed topic of each row")
    output_instruction_key = OutputColumn("instruction", "str")
    output_input_key = OutputColumn("input", "str", description="written empty: the pairs have no input")
    output_key = OutputColumn("output", "str", description="the response")

    def __init__(self, num_pairs: int = 3, max_instruction_chars: int = 300, max_response_chars: int = 1200,
                 prompt_template: str = "general_text/condor_generate", system_prompt: str | None = None,
                 temperature: float = 0.7, max_tokens: int | None = None, seed: int | None = 0,
                 llm_serving: Any = None) -> None:
        self.num_pairs = num_pairs
        self.max_instruction_chars, self.max_response_chars = max_instruction_chars, max_response_chars
        budget = pairs_budget(num_pairs, "num_pairs", max_instruction_chars, max_response_chars, max_tokens)
        super().__init__(prompt_template, system_prompt, temperature, budget, seed, llm_serving)

    def schema(self) -> dict[str, Any]:
        return pairs_schema(self.num_pairs, self.max_instruction_chars, self.max_response_chars)

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        # ~6 characters per English word including the space: the word limit keeps answers in the bound.
        return {"num_pairs": self.num_pairs, "max_response_words": self.max_response_chars // 7}

    def parse(self, answer: Any) -> list[dict[str, Any]]:
        """The new rows made from one answer (blank and repeated instructions skipped)."""
        return [{"output_instruction_key": instruction, "output_key": response, "output_input_key": ""}
                for instruction, response in distinct_pairs(answer.parsed.get("pairs", []), "instruction",
                                                            "response")]
