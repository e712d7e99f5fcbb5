"""SFT data filtering: length rules on instruction and response, exact dedup of instructions, then the
Alpagasus LLM quality filter.

The same steps as ``sft_filter.yaml`` (kept in sync by a test)::

    from dataflow.pipelines.general_text.sft_filter import SFTFilterPipeline
    SFTFilterPipeline("alpaca.jsonl", "alpaca_clean.jsonl").run()

Rows are Alpaca-style ``{"instruction", "input", "output"}``. The cheap rules run first so the LLM
only rates rows that survive them: instructions of 3 to 512 words, responses of 1 to 4,096 words,
then one row per instruction (case, punctuation and spacing ignored; the first one is kept), then :class:`AlpagasusFilter` keeps the triples the LLM
rates at least ``threshold`` out of 5. Score columns (``instruction_words``, ``output_words``,
``instruction_dup_of``, ``alpagasus_score``, ``alpagasus_reason``) stay in the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

#: (operator name, params, bindings) in execution order; ``sft_filter.yaml`` lists the same steps.
SFT_FILTER_STEPS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("WordNumberFilter", {"min_words": 3, "max_words": 512},
     {"input_key": "instruction", "output_key": "instruction_words"}),
    ("WordNumberFilter", {"min_words": 1, "max_words": 4096},
     {"input_key": "output", "output_key": "output_words"}),
    ("ExactDeduplicateFilter", {"normalize": True},
     {"input_key": "instruction", "output_key": "instruction_dup_of"}),
    ("AlpagasusFilter", {"threshold": 4},
     {"input_instruction_key": "instruction", "input_input_key": "input", "input_output_key": "output"}),
]


class SFTFilterPipeline(Pipeline):
    """Rule-based and LLM filtering of instruction-tuning data (Alpaca form).

    ``instruction_key``/``context_key``/``response_key`` name the SFT columns (``context_key=None``
    for data without an ``input`` field); ``threshold`` is the Alpagasus score to keep (1-5). Other
    keyword arguments go to :class:`~dataflow.core.pipeline.Pipeline` (``serving``, ``cache_dir``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 instruction_key: str = "instruction", context_key: str | None = "input",
                 response_key: str = "output", threshold: int | None = None, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        rename = {"instruction": instruction_key, "input": context_key, "output": response_key}
        self.steps: list[tuple[Any, dict[str, Any]]] = []
        for name, params, bindings in SFT_FILTER_STEPS:
            if name == "AlpagasusFilter" and threshold is not None:
                params = {**params, "threshold": threshold}
            # Bindings naming an SFT column follow the caller's column names; score columns stay.
            run = {b: rename.get(c, c) if b.startswith("input") else c for b, c in bindings.items()}
            if run.get("input_input_key", "") is None:
                del run["input_input_key"]
            self.steps.append((OPERATORS.get(name)(**params), run))

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
