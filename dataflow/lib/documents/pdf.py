"""PDF (text layer) to Markdown: reading order, paragraphs, headings, list items, no running headers,
footers or page numbers, hyphenation repaired. No OCR: a page without a text layer contributes nothing,
and a document without any text is refused as scanned.

Library: pypdfium2 (Apache-2.0/BSD-3, Google's PDFium with prebuilt wheels, no AGPL). Compared on the six
docling PDF fixtures (normalised edit similarity of the plain text to docling's expected Markdown,
whitespace and Markdown punctuation folded; this machine):

=================  =======  ==============================================
library            average  notes
=================  =======  ==============================================
pypdfium2          0.871    0.1 s for all six; best on the Korean and Arabic pages
pypdf              0.869    0.5 s; warns without fontTools
pdfminer.six       0.729    1.0 s; breaks the Arabic page (0.29) and the Korean one (0.55)
pdfplumber         0.582    1.8 s (pdfminer underneath); finds tables, but its text order loses
=================  =======  ==============================================

PDFium also gives each character's box, so a line's glyph height tells headings from body text (the most
common height, by characters, is the body's). Layout rules, each cheap and local:

* a line at the top or bottom of a page, not taller than the body, whose digit-blind text repeats on at
  least half the pages (three at least) is a running header or footer; a lone number there ("12", "Page 3 of 9", "xiv") is a page
  number; both are removed;
* a line clearly taller than the body (x1.15), short, is a heading (``#`` from x1.6, else ``##``);
  consecutive heading lines of one height are one heading; a numbered title such as ``5.1 Hyper Parameter
  Optimization`` at body height is a ``##`` heading too;
* a line opening with a bullet glyph is a list item, continued by the lines indented past its bullet;
  a line continues the paragraph above unless that one ended a sentence on a short line (a
  paragraph's last line);
* ``hyphen-`` at a line end before a lowercase word is joined back, and so is a word PDFium marks as
  broken (U+FFFE); soft hyphens are dropped.

Tables come out as their cell texts in reading order (no Markdown table): pdfplumber could find them but
costs 20x the time and orders text worse. Reading order across columns is PDFium's, which follows the
content stream: right for columns written one after the other, which most generators do.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from dataflow.lib.documents import DocumentError

_BULLETS = ("•", "\uf0b7", "◦", "▪", "■", "●", "○", "–", "-", "*", "\u2022", "\uf0a7")
_PAGE_NUMBER = re.compile(r"^(page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,4})?$", re.I)
_NUMBERED_TITLE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}\.?\s+[A-Z][^.]{2,80}$")
_SENTENCE_END = (".", "!", "?", ":", "。", "؟", '."', ".”", ")")
_BREAK_HYPHEN = "\ufffe"  # what PDFium puts for a hyphen its layout marks as a word broken at a line end
_BROKEN_WORD = re.compile(_BREAK_HYPHEN + r"\s*(?=(\w))")
_HEIGHT_SAMPLES = 8  # characters measured per line: enough for a median, cheap on long documents


@dataclass
class _Line:
    text: str
    height: float  # median glyph height (loose boxes), in PDF points
    left: float = 0.0  # x of the first glyph


def _page_lines(page) -> list[_Line]:
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        lines: list[_Line] = []
        start = 0
        for raw in text.split("\n"):
            end = start + len(raw)
            stripped = raw.replace("\r", "").replace("\x02", "").replace("\xad", "").strip()
            if stripped and len(text) == count:  # indices match characters: measure a few glyphs
                positions = [i for i in range(start, end) if not text[i].isspace()]
                step = max(1, len(positions) // _HEIGHT_SAMPLES)
                heights = []
                for i in positions[::step][:_HEIGHT_SAMPLES]:
                    _left, bottom, _right, top = textpage.get_charbox(i, loose=True)
                    heights.append(top - bottom)
                left = textpage.get_charbox(positions[0])[0] if positions else 0.0
                lines.append(_Line(stripped, statistics.median(heights) if heights else 0.0, left))
            elif stripped:
                lines.append(_Line(stripped, 0.0))
            start = end + 1
        return lines
    finally:
        textpage.close()


def _edge_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _drop_running_lines(pages: list[list[_Line]], body: float, edge: int = 2) -> list[list[_Line]]:
    """Remove page numbers and lines repeated at the top or bottom of many pages, except headings (a
    "Chapter 3" title opening each page is content; running headers are set at body size or smaller)."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_edge_key(line.text) for line in lines[:edge] + lines[-edge:]})
    threshold = max(3, (len(pages) + 1) // 2)  # three pages at least: two pages may share real text
    cleaned = []
    for lines in pages:
        kept = []
        for index, line in enumerate(lines):
            at_edge = index < edge or index >= len(lines) - edge
            if at_edge and (_PAGE_NUMBER.match(line.text) or
                            (seen[_edge_key(line.text)] >= threshold and line.height <= body * 1.15)):
                continue
            kept.append(line)
        cleaned.append(kept)
    return cleaned


def _body_height(pages: list[list[_Line]]) -> float:
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            if line.height > 0:
                weights[round(line.height * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _join(paragraph: str, line: str) -> str:
    if paragraph.endswith(_BREAK_HYPHEN):
        return paragraph[:-1] + line
    if paragraph.endswith("-") and len(paragraph) > 1 and paragraph[-2].isalpha() and line[:1].islower():
        return paragraph[:-1] + line
    return f"{paragraph} {line}"


def _blocks(lines: list[_Line], body: float) -> list[str]:
    blocks: list[str] = []
    kind = ""  # kind of the open block: "p", "li", "h" (with its height)
    heading_height = 0.0
    long_line = sorted(len(line.text) for line in lines)[int(len(lines) * 0.9)] if lines else 0
    previous = ""
    item_left = 0.0
    for line in lines:
        text = line.text
        tall = body > 0 and line.height >= body * 1.15 and len(text) <= 120
        if tall or (_NUMBERED_TITLE.match(text) and " . ." not in text and len(text) < 70):
            if kind == "h" and abs(line.height - heading_height) < 0.5:
                blocks[-1] += " " + text
            else:
                marks = "#" if body > 0 and line.height >= body * 1.6 else "##"
                blocks.append(f"{marks} {text}")
            kind, heading_height = "h", line.height
        elif text.startswith(_BULLETS) and len(text) > 2 and text[1] in " \t":
            blocks.append("- " + text[2:].strip())
            kind, item_left = "li", line.left
        elif (kind == "p" or (kind == "li" and line.left > item_left + 1)) and not (
                previous.endswith(_SENTENCE_END) and len(previous) < 0.8 * long_line):
            blocks[-1] = _join(blocks[-1], text)
        else:
            blocks.append(text)
            kind = "p"
        previous = text
    return blocks


def pdf_to_markdown(data: bytes) -> tuple[str, int]:
    """Markdown of a PDF's text layer and its page count."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError("PDF is encrypted (it needs a password)") from None
        raise DocumentError(f"corrupt or truncated PDF ({exc})") from None
    try:
        page_count = len(document)
        if page_count == 0:
            raise DocumentError("PDF has no pages")
        pages = [_page_lines(document[index]) for index in range(page_count)]
    finally:
        document.close()
    if not any(pages):
        raise DocumentError(f"PDF has no text layer (scanned?): {page_count} page(s) without "
                            "extractable text; OCR is not supported")
    body = _body_height(pages)
    pages = _drop_running_lines(pages, body)
    blocks = [block for lines in pages for block in _blocks(lines, body)]
    # list items of one list stay together
    out: list[str] = []
    for block in blocks:
        if out and block.startswith("- ") and out[-1].split("\n")[-1].startswith("- "):
            out[-1] += "\n" + block
        else:
            out.append(block)
    markdown = _BROKEN_WORD.sub(lambda m: "" if m.group(1).islower() else "-", "\n\n".join(out))
    return markdown.replace(_BREAK_HYPHEN, "-") + "\n", page_count
