"""Markdown -> chunks of at most ``chunk_size`` units (tokens of a real tokenizer, or characters), that
follow the document's structure.

The text is first read as blocks: ATX headings (``#`` .. ``######``), fenced code blocks (``````` or
``~~~``), tables (consecutive lines starting with ``|``) and paragraphs (any other run of non-blank
lines, list items included). Then:

* A heading is never the last thing in a chunk: it is glued to the block that follows it.
* A block is never split unless it alone exceeds the budget; then a paragraph is split by sentences (then
  words, then characters), a code block or a table by lines, each part repeating the code fence or the
  table's header rows so that it stays valid Markdown.
* Blocks are packed greedily. A new top-level section (a heading of the smallest level in the document)
  starts a new chunk when the whole section fits in one chunk but not in what is left of the current.
* ``chunk_overlap`` > 0: each chunk after the first starts with the last words (at most ``chunk_overlap``
  units) of the previous chunk's last paragraph; there is none after a code block, a table or a heading,
  which are never cut. The overlap is inside the budget: every chunk's text counts ``<= chunk_size``.

Page markers: a line ``<!-- page N -->`` (case and spaces free) says that page N starts there. Marker
lines are not chunk text; a chunk's page range is the first and last page of its blocks, ``None`` when the
document has no markers before them. The heading path of a chunk is that of its first block (overlap
excluded), titles joined with ``" > "``: ``"Title > Section > Subsection"``.

``count`` maps a list of texts to their sizes (``len`` of each, for characters; a tokenizer's ``count``
for tokens); the budget is checked on the exact text of each chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Counter = Callable[[list[str]], Sequence[int]]

PAGE_MARKER = re.compile(r"^\s*<!--\s*page\s+(\d+)\s*-->\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
SEPARATOR = "\n\n"


def char_count(texts: list[str]) -> list[int]:
    """Sizes in characters."""
    return [len(t) for t in texts]


@dataclass
class Block:
    """One structural unit of the Markdown: ``kind`` is heading, paragraph, code or table."""

    text: str
    kind: str
    path: tuple[str, ...]  # titles of the enclosing headings (a heading's own title included)
    page: int | None
    level: int = 0  # of a heading


@dataclass
class Chunk:
    """One chunk: its text, heading path and page range (first, last) or None."""

    text: str
    heading_path: str
    pages: tuple[int, int] | None


@dataclass
class _Piece:
    """A glued run of blocks (headings + the block after them), or a part of an oversized one."""

    head: str  # the glued headings ("" when none)
    body: str
    path: tuple[str, ...]
    pages: list[int] = field(default_factory=list)
    last_kind: str = "paragraph"
    section: int = -1  # index of the top-level section it opens, -1 when it opens none

    @property
    def text(self) -> str:
        return self.head + SEPARATOR + self.body if self.head and self.body else self.head or self.body


def parse_blocks(markdown: str) -> list[Block]:
    """The blocks of ``markdown`` with their heading paths and pages (see the module docstring)."""
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    page: int | None = None
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i, n = 0, len(lines)
    current: list[str] = []
    kind = ""

    def close() -> None:
        nonlocal current
        if current:
            blocks.append(Block("\n".join(current).strip("\n"), kind, tuple(t for _, t in stack), page))
        current = []

    while i < n:
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            close()
            mark = fence.group(1)
            body = [line]
            i += 1
            while i < n:
                body.append(lines[i])
                i += 1
                stripped = body[-1].strip()
                if stripped.startswith(mark[0] * len(mark)) and not stripped.strip(mark[0]):
                    break
            blocks.append(Block("\n".join(body), "code", tuple(t for _, t in stack), page))
            continue
        marker = PAGE_MARKER.match(line)
        heading = _HEADING.match(line)
        if marker:
            close()
            page = int(marker.group(1))
        elif not line.strip():
            close()
        elif heading:
            close()
            level, title = len(heading.group(1)), heading.group(2).strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            blocks.append(Block(line.strip(), "heading", tuple(t for _, t in stack), page, level))
        else:
            line_kind = "table" if line.lstrip().startswith("|") else "paragraph"
            if current and line_kind != kind:
                close()
            kind = line_kind
            current.append(line)
        i += 1
    close()
    return blocks


def chunk_markdown(markdown: str, chunk_size: int, chunk_overlap: int = 0,
                   count: Counter = char_count) -> list[Chunk]:
    """``markdown`` cut into chunks of at most ``chunk_size`` (see the module docstring)."""
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got {chunk_size}, "
                         f"{chunk_overlap}")
    size = _Sizer(count)
    blocks = parse_blocks(markdown)
    content_budget = chunk_size - chunk_overlap
    pieces: list[_Piece] = []
    for piece in _glue(blocks):
        pieces.extend(_split(piece, content_budget, size) if size(piece.text) > content_budget else [piece])
    groups = _pack(pieces, content_budget, size)
    chunks: list[Chunk] = []
    previous: list[_Piece] | None = None
    for group in groups:
        text = SEPARATOR.join(p.text for p in group)
        if previous is not None and chunk_overlap and previous[-1].last_kind == "paragraph":
            tail = _tail(previous[-1].body, chunk_overlap, size)
            while tail and size(tail + SEPARATOR + text) > chunk_size:
                tail = tail.split(" ", 1)[1] if " " in tail else ""
            text = tail + SEPARATOR + text if tail else text
        pages = [p for piece in group for p in piece.pages]
        chunks.append(Chunk(text, " > ".join(group[0].path), (min(pages), max(pages)) if pages else None))
        previous = group
    return chunks


class _Sizer:
    """``count`` of one text, memoised (packing asks for the same texts several times)."""

    def __init__(self, count: Counter) -> None:
        self._count = count
        self._memo: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if text not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[text] = int(self._count([text])[0])
        return self._memo[text]


def _glue(blocks: list[Block]) -> list[_Piece]:
    """Headings joined to the block after them; a piece opening a top-level section gets its index."""
    top = min((b.level for b in blocks if b.kind == "heading"), default=0)
    pieces: list[_Piece] = []
    pending: list[Block] = []
    for i, block in enumerate(blocks):
        pending.append(block)
        if block.kind == "heading" and i + 1 < len(blocks):
            continue
        heads = [b for b in pending if b.kind == "heading" and b is not block]
        content = block
        piece = _Piece(SEPARATOR.join(b.text for b in heads), content.text, content.path,
                       sorted({b.page for b in pending if b.page is not None}), content.kind)
        if pending[0].kind == "heading" and pending[0].level == top:
            piece.section = sum(p.section >= 0 for p in pieces)
        pieces.append(piece)
        pending = []
    return pieces


def _split(piece: _Piece, budget: int, size: _Sizer) -> list[_Piece]:
    """An oversized piece in parts that fit: the glued headings go with the first part."""
    head, body = piece.head, piece.body
    if head and size(head) * 2 > budget:  # headings too long to lead a part (never seen in real documents)
        head, body = "", piece.text
    room = budget - size(head + SEPARATOR) if head else budget  # the first part carries the headings
    if piece.last_kind == "code" and body.lstrip().startswith(("```", "~~~")):
        parts = _split_lines(body, room, size, header=1, footer=1)
    elif piece.last_kind == "table":
        lines = body.split("\n")
        header = 2 if len(lines) > 2 and _TABLE_SEPARATOR.match(lines[1]) else 0
        parts = _split_lines(body, room, size, header=header, footer=0)
    else:
        parts = _split_prose(body, room, size)
        parts = parts[:1] + _join_greedy(parts[1:], " ", budget, size)
    heads = [head] + [""] * (len(parts) - 1)
    if head and size(head + SEPARATOR + parts[0]) > budget:  # a token merge across the join: rare
        heads, parts = ["", ""] + heads[1:], [head] + parts
    pieces = [_Piece(h, p, piece.path, piece.pages, piece.last_kind) for h, p in zip(heads, parts)]
    pieces[0].section = piece.section
    return pieces


def _split_lines(text: str, budget: int, size: _Sizer, header: int, footer: int) -> list[str]:
    """A code block or table split by lines; each part repeats the first ``header`` and last ``footer``
    lines (fence, table header) when they fit, else the lines go as they are."""
    lines = text.split("\n")
    head, tail = lines[:header], lines[len(lines) - footer:] if footer else []
    body = lines[header:len(lines) - footer] if footer else lines[header:]
    frame = "\n".join(head + tail)
    if size(frame) * 2 >= budget:
        head, tail, body = [], [], lines

    def wrap(part: list[str]) -> str:
        return "\n".join(head + part + tail)

    parts: list[str] = []
    current: list[str] = []
    for line in body:
        if current and size(wrap(current + [line])) > budget:
            parts.append(wrap(current))
            current = []
        if size(wrap([line])) > budget:  # one line alone too long: cut it as prose
            room = budget - size(wrap([""]))
            parts.extend(wrap([p]) for p in _split_prose(line, max(room, 1), size))
            continue
        current.append(line)
    if current:
        parts.append(wrap(current))
    return parts


def _split_prose(text: str, budget: int, size: _Sizer) -> list[str]:
    """Text cut by sentences, then words, then characters, packed into parts of at most ``budget``."""
    for pattern, joiner in ((_SENTENCE_END, " "), (re.compile(r"\s+"), " ")):
        units = [u for u in pattern.split(text) if u]
        if len(units) > 1:
            out: list[str] = []
            for unit in units:
                out.extend(_split_prose(unit, budget, size) if size(unit) > budget else [unit])
            return _join_greedy(out, joiner, budget, size)
    if size(text) <= budget or len(text) <= 1:
        return [text]
    cut = len(text) // 2
    return _split_prose(text[:cut], budget, size) + _split_prose(text[cut:], budget, size)


def _join_greedy(units: list[str], joiner: str, budget: int, size: _Sizer) -> list[str]:
    parts: list[str] = []
    current = ""
    for unit in units:
        candidate = current + joiner + unit if current else unit
        if current and size(candidate) > budget:
            parts.append(current)
            current = unit
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _pack(pieces: list[_Piece], budget: int, size: _Sizer) -> list[list[_Piece]]:
    """Pieces grouped greedily into chunks of at most ``budget`` (every piece fits alone)."""
    section_sizes: dict[int, int] = {}
    for start, piece in enumerate(pieces):
        if piece.section >= 0:
            end = next((j for j in range(start + 1, len(pieces)) if pieces[j].section >= 0), len(pieces))
            section_sizes[piece.section] = size(SEPARATOR.join(p.text for p in pieces[start:end]))
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    for piece in pieces:
        if current:
            candidate = SEPARATOR.join(p.text for p in current + [piece])
            over = size(candidate) > budget
            section_moves = (piece.section >= 0 and section_sizes[piece.section] <= budget
                             and size(SEPARATOR.join(p.text for p in current)) + 2
                             + section_sizes[piece.section] > budget)
            if over or section_moves:
                groups.append(current)
                current = []
        current.append(piece)
    if current:
        groups.append(current)
    return groups


def _tail(text: str, budget: int, size: _Sizer) -> str:
    """The last words of ``text`` that count at most ``budget`` (empty when even one word is more)."""
    words = text.split()
    lo, hi = 0, len(words)  # find the longest suffix that fits, by bisection on its start
    best = ""
    while lo < hi:
        mid = (lo + hi) // 2
        candidate = " ".join(words[mid:])
        if size(candidate) <= budget:
            best, hi = candidate, mid
        else:
            lo = mid + 1
    return best
