"""Embeddings of a text column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator


@register_operator
class EmbeddingGenerator(Generator):
    """Writes an L2-normalised embedding (a list of floats) of ``input_key`` to ``output_key``.

    Uses the pipeline's embedder: the packaged all-MiniLM-L6-v2 by default (the ``embeddings`` extra), or
    any OpenAI-compatible ``/embeddings`` endpoint (spec key ``embedder``).
    """

    resources = ("embedder",)
    input_key = InputColumn("text")
    output_key = OutputColumn("embedding", "list")

    def __init__(self, batch_size: int = 64, embedder: Any = None) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.embedder = embedder

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        texts = ["" if t is None else str(t) for t in batch[ctx.cols.input_key].tolist()]
        vectors = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(ctx.embedder.embed(texts[start:start + self.batch_size]).tolist())
        return {ctx.cols.output_key: vectors}
