"""Drops solutions whose length in real model tokens is out of range."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import InputColumn, OutputColumn, RangeFilter
from dataflow.core.registry import register_operator

DEFAULT_TOKENIZER = "qwen2.5-coder-1.5b"


@register_operator
class ReasoningAnswerTokenLengthFilter(RangeFilter):
    """Keeps solutions of ``min_answer_token_length``..``max_answer_token_length`` tokens of a real tokenizer.

    The count (written to ``output_key``) uses the vocabulary of an actual model, offline:
    ``tokenizer`` is the name of an embedded serving model (default ``qwen2.5-coder-1.5b``, the Qwen2.5
    BPE vocabulary read from the GGUF file that the embedded backend assembles under
    ``$DATAFLOW_CACHE_HOME/models``; llama.cpp loads only the vocabulary, in well under a second), a path
    to any ``.gguf`` file, or a path to a Hugging Face ``tokenizer.json`` (needs the ``tokenizers``
    package). Special tokens are not added. Drops with ``answer_tokens > N`` / ``answer_tokens < N``;
    missing solutions count as 0 tokens.
    """

    input_key = InputColumn("generated_cot", "str", nullable=True)
    output_key = OutputColumn("answer_token_count", "int")
    score_name = "answer_tokens"
    requires = {"llama_cpp": "llama-cpp-python==0.3.36"}

    def __init__(self, max_answer_token_length: int = 8192, min_answer_token_length: int = 1,
                 tokenizer: str = DEFAULT_TOKENIZER) -> None:
        super().__init__(min_value=min_answer_token_length, max_value=max_answer_token_length)
        self.max_answer_token_length = max_answer_token_length
        self.min_answer_token_length = min_answer_token_length
        self.tokenizer = tokenizer
        if tokenizer.endswith(".json"):  # compile() checks the package this tokenizer needs
            self.requires = {"tokenizers": "tokenizers"}

    def score(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        texts = batch[ctx.cols.input_key].tolist()
        present = [i for i, t in enumerate(texts) if isinstance(t, str) and t]
        counts = np.zeros(len(texts), dtype=np.int64)
        if present:
            from dataflow.serving.model_files import load_tokenizer

            counts[present] = load_tokenizer(self.tokenizer).count([texts[i] for i in present])
        return counts
