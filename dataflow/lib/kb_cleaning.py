"""Rule-based cleaning of text converted from documents, keeping its Markdown structure.

* :func:`strip_markup`: HTML tags (``<br>`` and block tags become line breaks, the others go, their text
  stays), HTML comments and image placeholders (``<!-- image -->``, ``<img>``, ``![alt](src)`` -> its alt
  text, if any) and HTML entities (decoded); page markers ``<!-- page N -->`` are kept.
* :func:`repair_lines`: hard-wrapped paragraph lines joined with a space, a word hyphenated at a line end
  (``infor-`` + ``mation``, next line starting in lower case) rejoined without the hyphen. Headings,
  list items, tables, quotes, lines ending in a Markdown hard break and blank lines keep their lines.
* :func:`repeated_lines` / :func:`remove_lines`: boilerplate, the lines that come back on many pages or
  chunks of one document (on at least ``min_repeats`` and a ``min_fraction`` of them): running headers
  and footers, page numbers, copyright lines. Lines compare with whitespace collapsed and case folded; a
  page-number line also with its digits as ``#`` ("Page 3 of 19" matches "Page 4 of 19", "12" matches
  "13"). Table rows and lines of more than ``max_chars`` characters never count.

Fenced code blocks and inline code are never touched.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter

from dataflow.lib.chunking import PAGE_MARKER

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_IMAGE_WORDS = {"", "image", "figure", "img", "picture", "photo", "graphic"}
_BREAK_TAG = re.compile(r"<\s*(br|/?p|/?div|/?li|/?tr|/?h[1-6]|/?section|/?article|/?ul|/?ol|/?table)\b[^>]*>",
                        re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(\s+[^<>]*?)?\s*/?>")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_STRUCTURAL = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>|\||<!--\s*page\s)", re.IGNORECASE)
_HYPHEN_END = re.compile(r"[^\W\d_]-$")


def _segments(text: str) -> list[tuple[bool, list[str]]]:
    """The lines of ``text`` as runs: (is fenced code, lines)."""
    runs: list[tuple[bool, list[str]]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            mark, body = fence.group(1), [lines[i]]
            i += 1
            while i < len(lines):
                body.append(lines[i])
                i += 1
                stripped = body[-1].strip()
                if stripped.startswith(mark[0] * len(mark)) and not stripped.strip(mark[0]):
                    break
            runs.append((True, body))
            continue
        if runs and not runs[-1][0]:
            runs[-1][1].append(lines[i])
        else:
            runs.append((False, [lines[i]]))
        i += 1
    return runs


def _outside_code(text: str, fn) -> str:
    """``fn`` applied to each run of lines outside fenced code (as one string), code kept as it is."""
    return "\n".join("\n".join(lines) if code else fn("\n".join(lines)) for code, lines in _segments(text))


def _outside_inline_code(text: str, fn) -> str:
    out, last = [], 0
    for match in _INLINE_CODE.finditer(text):
        out.append(fn(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(fn(text[last:]))
    return "".join(out)


def _strip(text: str) -> str:
    def comment(m: re.Match) -> str:
        return m.group(0) if PAGE_MARKER.match(m.group(0)) else ""

    def image(m: re.Match) -> str:
        alt = m.group(1).strip()
        return "" if alt.lower() in _IMAGE_WORDS else alt

    text = _COMMENT.sub(comment, text)
    text = _MD_IMAGE.sub(image, text)
    text = _BREAK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    # What was removed leaves spaces behind: inner runs collapse, a line's indent goes unless it nests a list.
    text = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", text)
    return re.sub(r"(?m)^[ \t]+(?=[^\s*+\d-])", "", text)


def strip_markup(text: str) -> str:
    """HTML tags, comments, image placeholders and entities removed (see the module docstring)."""
    return _outside_code(text, lambda part: _outside_inline_code(part, _strip))


def _join(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        joinable = (prev.strip() and line.strip() and not _STRUCTURAL.match(line) and
                    not prev.lstrip().startswith(("#", "|", "<!--")) and not prev.endswith(("  ", "\\")))
        if not joinable:
            out.append(line)
        elif _HYPHEN_END.search(prev.rstrip()) and line.lstrip()[:1].islower():
            out[-1] = prev.rstrip()[:-1] + line.strip()
        else:
            out[-1] = prev.rstrip() + " " + line.strip()
    return out


def repair_lines(text: str) -> str:
    """Hard-wrapped lines joined and line-end hyphenation repaired (see the module docstring)."""
    return _outside_code(text, lambda part: "\n".join(_join(part.split("\n"))))


_PAGE_NUMBER = re.compile(r"^[-–—\s]*((page|p\.|pg\.?|seite|página|pagina)\s*)?#+(\s*(/|of|von|de|sur)\s*#+)?"
                          r"[-–—\s]*$")


def _line_key(line: str) -> str:
    """Lines compare with whitespace collapsed and case folded; page-number lines ("12", "Page 3 of 19",
    "- 4 -") also with their numbers as ``#``."""
    key = " ".join(line.split()).lower()
    numbered = re.sub(r"\d+", "#", key)
    return numbered if _PAGE_NUMBER.match(numbered) else key


def repeated_lines(texts: list[str], min_repeats: int = 3, min_fraction: float = 0.25,
                   max_chars: int = 200) -> set[str]:
    """Keys of the lines found in at least ``min_repeats`` and at least ``min_fraction`` of ``texts`` (the
    pages or chunks of one document)."""
    seen: Counter[str] = Counter()
    for text in texts:
        keys = set()
        for code, lines in _segments(text):
            if code:
                continue
            for line in lines:
                stripped = line.strip()
                if stripped and len(stripped) <= max_chars and not stripped.startswith("|") \
                        and not PAGE_MARKER.match(stripped):
                    keys.add(_line_key(stripped))
        seen.update(keys)
    least = max(min_repeats, math.ceil(min_fraction * len(texts)))
    return {key for key, n in seen.items() if n >= least}


def remove_lines(text: str, keys: set[str]) -> str:
    """``text`` without the lines whose key is in ``keys`` (fenced code kept)."""
    if not keys:
        return text
    return _outside_code(text, lambda part: "\n".join(
        line for line in part.split("\n") if not line.strip() or _line_key(line.strip()) not in keys))


def split_pages(text: str) -> list[str]:
    """``text`` cut at its ``<!-- page N -->`` marker lines (one piece when it has none)."""
    pages: list[list[str]] = [[]]
    for line in text.split("\n"):
        if PAGE_MARKER.match(line):
            pages.append([])
        pages[-1].append(line)
    return ["\n".join(p) for p in pages if p]


def tidy_blank_lines(text: str) -> str:
    """Runs of blank lines outside code collapsed to one; the ends stripped."""
    return _outside_code(text, lambda part: re.sub(r"\n[ \t]*(\n[ \t]*)+\n", "\n\n", part)).strip()
