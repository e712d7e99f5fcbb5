"""SFT data synthesis, Condor style: seed topics -> instruction/response pairs -> critique and rewrite
-> Alpagasus quality filter.

The same steps as ``sft_synthesis.yaml`` (kept in sync by a test)::

    from dataflow.pipelines.general_text.sft_synthesis import SFTSynthesisPipeline
    SFTSynthesisPipeline("seeds.jsonl", "sft.jsonl").run()

Each input row holds a seed topic (column ``topic``). :class:`CondorGenerator` turns every topic into
up to ``pairs_per_topic`` rows in Alpaca SFT form (``instruction``, ``input`` (empty), ``output``);
:class:`CondorRefiner` critiques each response and rewrites it (the critique stays in ``critique``);
:class:`AlpagasusFilter` rates each pair 1-5 and keeps those scoring at least ``threshold``
(``alpagasus_score`` and ``alpagasus_reason`` stay in the output). Every LLM answer is schema-constrained
with bounded lengths; answers that stay invalid go to the rejects file with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

#: (operator name, params) in execution order; ``sft_synthesis.yaml`` lists the same steps.
SFT_SYNTHESIS_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("CondorGenerator", {"num_pairs": 3, "max_instruction_chars": 200, "max_response_chars": 600,
                         "temperature": 0.7, "seed": 0}),
    ("CondorRefiner", {"max_critique_chars": 300, "max_response_chars": 600}),
    ("AlpagasusFilter", {"threshold": 3}),
]


class SFTSynthesisPipeline(Pipeline):
    """Seed topics to filtered instruction/response pairs (Condor synthesis + refinement, Alpagasus filter).

    ``pairs_per_topic``, ``max_response_chars`` and ``threshold`` override the step defaults above;
    ``topic_key`` names the seed column. Other keyword arguments go to
    :class:`~dataflow.core.pipeline.Pipeline` (``serving``, ``cache_dir``, ``chunk_size``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 topic_key: str = "topic", pairs_per_topic: int | None = None,
                 max_response_chars: int | None = None, threshold: int | None = None, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        self.topic_key = topic_key
        params = {name: dict(p) for name, p in SFT_SYNTHESIS_STEPS}
        if pairs_per_topic is not None:
            params["CondorGenerator"]["num_pairs"] = pairs_per_topic
        if max_response_chars is not None:
            params["CondorGenerator"]["max_response_chars"] = max_response_chars
            params["CondorRefiner"]["max_response_chars"] = max_response_chars
        if threshold is not None:
            params["AlpagasusFilter"]["threshold"] = threshold
        self.generator = OPERATORS.get("CondorGenerator")(**params["CondorGenerator"])
        self.refiner = OPERATORS.get("CondorRefiner")(**params["CondorRefiner"])
        self.quality = OPERATORS.get("AlpagasusFilter")(**params["AlpagasusFilter"])

    def forward(self) -> None:
        self.generator.run(self.storage, input_key=self.topic_key)
        self.refiner.run(self.storage, input_key="output", input_instruction_key="instruction")
        self.quality.run(self.storage, input_instruction_key="instruction", input_input_key="input",
                         input_output_key="output")
