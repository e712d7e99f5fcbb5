"""Refiners backed by optional libraries: HTML main-text extraction (trafilatura) and mojibake repair (ftfy)."""

from __future__ import annotations

from dataflow.core.operator import Refiner
from dataflow.core.registry import register_operator


@register_operator
class HtmlToTextRefiner(Refiner):
    """Extract the main text of an HTML page with trafilatura, dropping navigation, ads and footers.

    ``favor_precision`` / ``favor_recall`` tune trafilatura's boilerplate detection; ``include_tables`` and
    ``include_comments`` keep those parts. Pages with no extractable text become "" (follow with
    ``ContentNullFilter``). Needs ``trafilatura==2.3.1``.
    """

    requires = {"trafilatura": "trafilatura==2.3.1"}

    def __init__(self, favor_precision: bool = False, favor_recall: bool = False, include_tables: bool = True,
                 include_comments: bool = False):
        super().__init__()
        self.favor_precision = favor_precision
        self.favor_recall = favor_recall
        self.include_tables = include_tables
        self.include_comments = include_comments

    def refine_text(self, text: str) -> str:
        import trafilatura

        if not text.strip():
            return ""
        extracted = trafilatura.extract(text, favor_precision=self.favor_precision,
                                        favor_recall=self.favor_recall, include_tables=self.include_tables,
                                        include_comments=self.include_comments, deduplicate=False)
        return extracted or ""


@register_operator
class FixUnicodeRefiner(Refiner):
    """Repair mojibake and broken Unicode with ftfy ("Ã©" -> "é", "â€™" -> "’", HTML entities left alone
    unless ``unescape_html``). ``normalization`` (NFC by default) is applied after repair. Needs
    ``ftfy==6.3.1``."""

    requires = {"ftfy": "ftfy==6.3.1"}

    def __init__(self, normalization: str | None = "NFC", unescape_html: bool = False):
        super().__init__()
        self.normalization = normalization
        self.unescape_html = unescape_html

    def refine_text(self, text: str) -> str:
        import ftfy

        if text.isascii() and not self.unescape_html:
            return text
        return ftfy.fix_text(text, normalization=self.normalization, unescape_html=self.unescape_html)
