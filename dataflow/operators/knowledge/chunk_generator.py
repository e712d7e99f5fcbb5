"""Markdown documents -> one row per chunk, by a token budget, along the document's structure."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Bindings, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator

DEFAULT_TOKENIZER = "qwen2.5-coder-1.5b"


@register_operator
class KBCChunkGenerator(Generator):
    """Cuts the Markdown in ``input_key`` into chunks of at most ``chunk_size`` tokens; each chunk becomes a
    row (a child of the document's row, which it replaces), its text in ``output_key``.

    Sizes are tokens of ``tokenizer``: an embedded serving model (default ``qwen2.5-coder-1.5b``, its
    vocabulary read offline by llama.cpp), a ``.gguf`` path or a ``tokenizer.json``; ``None`` or
    ``"chars"`` counts characters. The cut follows the structure (:mod:`dataflow.lib.chunking`): a heading
    stays with its first paragraph, code blocks and tables are split (by lines, repeating the fence or
    the header rows) only when one alone exceeds the budget, a top-level section that fits in a chunk
    starts a new one, and each chunk after the first begins with up to ``chunk_overlap`` tokens of the
    previous one's last paragraph (counted inside ``chunk_size``).

    Each chunk also gets ``heading_path`` ("Title > Section > Subsection"), ``page_range`` ([first, last]
    page, from ``<!-- page N -->`` marker lines that say where page N starts; null without markers),
    ``chunk_index`` (0, 1, ... within its document) and, when ``input_source_key`` is bound (the
    document's path or id), ``source``. A document with no text is dropped: "no text to chunk". The
    chunks inherit the document row's columns: bind ``output_key`` to the ``input_key`` column to have
    each chunk's text replace the document's rather than sit beside it.
    """

    input_key = InputColumn("markdown", "str", nullable=True)
    input_source_key = InputColumn(None, "any", nullable=True, description="the document's path or id")
    output_key = OutputColumn("raw_chunk", "str")
    output_heading_key = OutputColumn("heading_path", "str")
    output_pages_key = OutputColumn("page_range", "list")
    output_index_key = OutputColumn("chunk_index", "int")
    output_source_key = OutputColumn("source", "any", description="written when input_source_key is bound")
    no_output_reason = "no text to chunk"
    example_params = {"tokenizer": "chars"}

    def __init__(self, chunk_size: int = 512, chunk_overlap: int = 50,
                 tokenizer: str | None = DEFAULT_TOKENIZER) -> None:
        super().__init__()
        if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got {chunk_size}, "
                             f"{chunk_overlap}")
        self.chunk_size, self.chunk_overlap, self.tokenizer = chunk_size, chunk_overlap, tokenizer
        if self._counts_chars():
            self.requires = {}
        elif tokenizer.endswith(".json"):  # compile() checks the package this tokenizer needs
            self.requires = {"tokenizers": "tokenizers"}
        else:
            self.requires = {"llama_cpp": "llama-cpp-python==0.3.36"}

    def _counts_chars(self) -> bool:
        return self.tokenizer is None or self.tokenizer == "chars"

    def output_columns(self, bindings: Bindings) -> list[str]:
        cols = super().output_columns(bindings)
        return cols if bindings.get("input_source_key") else [c for c in cols if c != bindings.output_source_key]

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        from dataflow.lib.chunking import char_count, chunk_markdown

        cols = ctx.cols
        count = char_count
        if not self._counts_chars() and len(batch):
            from dataflow.serving.model_files import load_tokenizer

            count = load_tokenizer(self.tokenizer).count
        sources = batch[cols.input_source_key].tolist() if cols.get("input_source_key") else None
        rows: list[dict[str, Any]] = []
        for i, text in enumerate(batch[cols.input_key].tolist()):
            if not isinstance(text, str) or not text.strip():
                continue
            for k, chunk in enumerate(chunk_markdown(text, self.chunk_size, self.chunk_overlap, count)):
                row = {"_parent": i, cols.output_key: chunk.text, cols.output_heading_key: chunk.heading_path,
                       cols.output_pages_key: list(chunk.pages) if chunk.pages else None,
                       cols.output_index_key: k}
                if sources is not None:
                    row[cols.output_source_key] = sources[i]
                rows.append(row)
        columns = ["_parent", *self.output_columns(cols)]
        return pd.DataFrame(rows, columns=columns).astype({"_parent": "int64"})
