"""Rule-based cleaning of converted documents and their chunks: boilerplate, broken lines, leftover markup."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import InputColumn, Refiner
from dataflow.core.registry import register_operator


@register_operator
class KBCTextRuleCleaner(Refiner):
    """Cleans the text in ``input_key`` by rules, keeping its Markdown structure (in place unless
    ``output_key`` is bound); no model, so it runs before the LLM cleaner or instead of it.

    In order (each step can be turned off; :mod:`dataflow.lib.kb_cleaning` has the exact rules):

    1. ``strip_markup``: HTML tags (their text kept), HTML comments, image placeholders (``<!-- image -->``,
       ``<img>``, ``![alt](src)`` -> the alt text) and entities; page markers ``<!-- page N -->`` stay.
    2. ``remove_boilerplate``: lines that repeat on at least ``min_repeats`` and ``min_fraction`` of the
       pages or chunks of one document (running headers and footers, page numbers: digits compare as
       equal). The pages are a text's ``<!-- page N -->`` sections; when ``input_doc_key`` is bound, the
       rows of the batch sharing its value (the chunks of one document) are compared too. Only rows of
       the same pipeline chunk are compared: keep a document's rows together (the chunker does).
    3. ``repair_lines``: hard-wrapped paragraph lines joined, line-end hyphenation repaired.

    Code blocks and inline code are never changed; blank-line runs become one blank line.
    """

    input_key = InputColumn("raw_chunk", "str", nullable=True)
    input_doc_key = InputColumn(None, "any", nullable=True, description="rows sharing it are one document")

    def __init__(self, strip_markup: bool = True, remove_boilerplate: bool = True, repair_lines: bool = True,
                 min_repeats: int = 3, min_fraction: float = 0.25) -> None:
        super().__init__()
        self.strip_markup, self.remove_boilerplate, self.repair_lines = strip_markup, remove_boilerplate, repair_lines
        self.min_repeats, self.min_fraction = min_repeats, min_fraction

    def refine_rows(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        from dataflow.lib import kb_cleaning as kb

        cols = ctx.cols
        texts = batch[cols.input_key].tolist()
        present = [i for i, t in enumerate(texts) if isinstance(t, str)]
        if self.strip_markup:
            for i in present:
                texts[i] = kb.strip_markup(texts[i])
        if self.remove_boilerplate:
            docs = batch[cols.input_doc_key].tolist() if cols.get("input_doc_key") else list(range(len(batch)))
            groups: dict[Any, list[int]] = {}
            for i in present:
                missing = docs[i] is None or docs[i] != docs[i]  # None or NaN: a document of its own
                groups.setdefault(("row", i) if missing else docs[i], []).append(i)
            for rows in groups.values():
                pages = [page for i in rows for page in kb.split_pages(texts[i])]
                keys = kb.repeated_lines(pages, self.min_repeats, self.min_fraction)
                for i in rows:
                    texts[i] = kb.remove_lines(texts[i], keys)
        for i in present:
            texts[i] = kb.tidy_blank_lines(kb.repair_lines(texts[i]) if self.repair_lines else texts[i])
        return {cols.output_key: pd.Series(texts, index=batch.index, dtype=object)}
