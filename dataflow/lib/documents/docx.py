"""DOCX to Markdown with python-docx (MIT): paragraphs and tables in document order; ``Heading N`` and
``Title`` styles become headings, list styles become list items, bold and italic runs and hyperlinks are
kept."""

from __future__ import annotations

from io import BytesIO

from dataflow.lib.documents import DocumentError
from dataflow.lib.documents.tables import markdown_table


def _runs_markdown(paragraph) -> str:
    parts = []
    # runs and hyperlinks in order (``paragraph.runs`` leaves out the runs inside hyperlinks)
    for piece in paragraph.iter_inner_content():
        text = piece.text
        if not text.strip():
            parts.append(text)
        elif hasattr(piece, "url"):
            parts.append(f"[{text.strip()}]({piece.url})" if piece.url else text)
        elif piece.bold:
            parts.append(f"**{text.strip()}**" + (" " if text.endswith(" ") else ""))
        elif piece.italic:
            parts.append(f"*{text.strip()}*" + (" " if text.endswith(" ") else ""))
        else:
            parts.append(text)
    return " ".join("".join(parts).split())


def _paragraph_markdown(paragraph) -> str:
    text = _runs_markdown(paragraph)
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {paragraph.text.strip()}"
    if style.startswith("Heading"):
        level = style.rsplit(" ", 1)[-1]
        depth = min(int(level), 6) if level.isdigit() else 2
        return f"{'#' * depth} {paragraph.text.strip()}"
    if style.startswith("List Number"):
        return f"1. {text}"
    if style.startswith("List"):
        return f"- {text}"
    return text


def docx_to_markdown(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(BytesIO(data))
    except Exception as exc:  # python-docx raises zipfile, KeyError and lxml errors for broken files
        raise DocumentError(f"corrupt DOCX file: {type(exc).__name__}: {exc}") from None
    blocks = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            block = _paragraph_markdown(Paragraph(element, document))
        elif tag == "tbl":
            rows = [[cell.text.strip() for cell in row.cells] for row in Table(element, document).rows]
            block = markdown_table(rows)
        else:
            continue
        if block:
            blocks.append(block)
    # consecutive list items stay one list: no blank line between them
    out: list[str] = []
    for block in blocks:
        is_item = block.startswith(("- ", "1. "))
        if out and is_item and out[-1].startswith(("- ", "1. ")):
            out[-1] += "\n" + block
        else:
            out.append(block)
    if not out:
        raise DocumentError("DOCX document has no text")
    return "\n\n".join(out) + "\n"
