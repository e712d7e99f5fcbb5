"""Documents (paths or URLs) to Markdown text."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import Cost, Generator, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.documents import DocumentError, convert_source


@register_operator
class FileOrURLToMarkdownConverter(Generator):
    """Converts the document named in ``input_key`` (a file path or an http(s) URL) to Markdown.

    Kinds, told by the file's first bytes and then its extension: PDF (text layer: reading order,
    paragraphs, headings, lists; running headers, footers and page numbers removed; hyphenation
    repaired), HTML (headings, lists, links, code and tables; the main content of a large page), DOCX,
    Markdown and plain text (any encoding). See :mod:`dataflow.lib.documents` for the rules and the libraries.

    A document that cannot be read is rejected with the reason, and the other rows go on: a missing
    file, an empty file, a PDF without a text layer (scanned; no OCR), an encrypted PDF, a corrupt or
    truncated file, an unsupported binary, a URL that cannot be fetched (no network, refused, HTTP
    error; waits at most ``timeout_s``). ``output_pages_key`` (optional) gets the page count (1 for
    kinds without pages). ``pdf_tables`` writes a PDF's ruled tables as Markdown tables; turning it off
    leaves them as text and converts PDFs about ten times faster. ``page_markers`` opens each PDF page's
    content with ``<!-- page N -->`` (an HTML comment), so a chunker can tell a chunk's pages.

    Unlike the reference, which writes Markdown files under ``intermediate_dir`` and their paths into
    ``text_path``, the Markdown itself goes into ``output_key``: the cache and resume keep it, and no
    side files outlive a re-run.
    """

    input_key = InputColumn("source", "str", description="a file path or an http(s) URL")
    output_key = OutputColumn("markdown", "str", description="the document as Markdown")
    output_pages_key = OutputColumn(None, "int", description="the document's page count")
    requires = {"pypdfium2": "pypdfium2", "docx": "python-docx", "trafilatura": "trafilatura",
                "charset_normalizer": "charset-normalizer"}
    cost = Cost(cpus=1, memory_gb=1.0)

    def __init__(self, timeout_s: float = 20.0, pdf_tables: bool = True, page_markers: bool = False) -> None:
        super().__init__()
        self.timeout_s, self.pdf_tables, self.page_markers = timeout_s, pdf_tables, page_markers

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        texts: list[Any] = []
        pages: list[Any] = []
        for source in batch[cols.input_key].tolist():
            try:
                if not isinstance(source, str):
                    raise DocumentError(f"source is not a path or URL: {source!r}")
                document = convert_source(source, self.timeout_s, self.pdf_tables, self.page_markers)
            except DocumentError as exc:
                texts.append(Reject(f"{source}: {exc}"))
                pages.append(None)
                continue
            texts.append(document.markdown)
            pages.append(document.pages)
        out: dict[str, Any] = {cols.output_key: texts}
        if cols.get("output_pages_key"):
            out[cols.output_pages_key] = pages
        return out
