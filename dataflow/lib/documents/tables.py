"""Rows of cell texts to a Markdown (GFM) table."""

from __future__ import annotations


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def markdown_table(rows: list[list[str | None]]) -> str:
    """The first row is the header; short rows are padded; an empty table gives ``""``."""
    rows = [[_cell(cell) for cell in row] for row in rows if any((cell or "").strip() for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)
