"""A profile of the user's data: what the agent knows about the input before it plans a pipeline.

:func:`profile_data` reads the first ``sample_rows`` records of a JSONL/JSON/CSV/Parquet input (through
:mod:`dataflow.core.fileio`, so it sees what a pipeline would see) and returns a :class:`DataProfile`:

* the row count: exact when the sample reached the end of the file, from the metadata for Parquet, by
  counting lines for JSON lines up to :data:`EXACT_COUNT_BYTES`, by parsing other formats up to
  :data:`EXACT_PARSE_BYTES`; otherwise an estimate (file size over the sample's mean record size),
  marked ``rows_exact=False``;
* per column, in first-seen order: the inferred type (``str``, ``int``, ``number``, ``bool``, ``list``,
  ``dict``, ``null`` when every sampled value is missing, ``mixed``), the share of missing values, a few
  short distinct example values, for strings the length in characters and words (min / median / max),
  the scripts the text is written in and a hint that it is English (share of common English function
  words), and content hints (``html``, ``code``, ``math``, ``sql``, ``url``) from cheap patterns;
  for numbers the range.

``to_text()`` renders it compactly for a prompt; ``as_dict()`` for the session record and programs.
"""

from __future__ import annotations

import os
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: JSON-lines inputs up to this size get an exact row count (a newline count: about 1 s per GB).
EXACT_COUNT_BYTES = 256 << 20
#: Other formats (CSV, a JSON array, gzipped JSON lines) up to this size are parsed to count their rows.
EXACT_PARSE_BYTES = 16 << 20
EXAMPLE_CHARS = 60

_ENGLISH = frozenset("the of and to in is that for it with as was on are be by this not or from at have an "
                     "which but they you his her we can has were their".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_HINTS = {
    "html": re.compile(r"<(?:html|body|div|p|span|a|br|table|script)\b[^>]*>", re.I),
    "code": re.compile(r"^\s*(?:def |class |import |from \w+ import|#include|function |public |return\b)|[;{}]\s*$",
                       re.M),
    "math": re.compile(r"\\(?:frac|sqrt|boxed|cdot|times)|\$[^$\n]+\$|\d+\s*[-+*/^=]\s*\d+"),
    "sql": re.compile(r"\bSELECT\b[\s\S]+\bFROM\b", re.I),
    "url": re.compile(r"https?://\S+"),
}
# (first code point, last code point, script), checked in order; letters outside every range are "other".
_SCRIPTS = ((0x0041, 0x024F, "latin"), (0x0370, 0x03FF, "greek"), (0x0400, 0x04FF, "cyrillic"),
            (0x0590, 0x05FF, "hebrew"), (0x0600, 0x06FF, "arabic"), (0x0900, 0x097F, "devanagari"),
            (0x3040, 0x30FF, "kana"), (0x4E00, 0x9FFF, "cjk"), (0xAC00, 0xD7AF, "hangul"))


@dataclass
class ColumnProfile:
    name: str
    type: str
    null_share: float
    examples: list[str] = field(default_factory=list)
    chars: dict[str, int] | None = None  # min / median / max characters (strings)
    words: dict[str, int] | None = None  # min / median / max words (strings)
    scripts: dict[str, float] | None = None  # share of letters per script (strings)
    english: float | None = None  # share of common English function words among the words (strings)
    hints: list[str] = field(default_factory=list)  # html, code, math, sql, url: share >= 20% of values
    range: tuple[float, float] | None = None  # numbers

    def to_text(self) -> str:
        parts = [f"{self.type}", f"{self.null_share:.0%} null"]
        if self.chars:
            parts.append(f"chars {self.chars['min']}..{self.chars['max']} (median {self.chars['median']})")
        if self.words:
            parts.append(f"words median {self.words['median']}")
        if self.scripts:
            parts.append("script " + ", ".join(f"{s} {v:.0%}" for s, v in self.scripts.items()))
        if self.english is not None and self.english >= 0.15:
            parts.append("looks English")
        if self.hints:
            parts.append("looks like " + "/".join(self.hints))
        if self.range:
            parts.append(f"range {_num(self.range[0])}..{_num(self.range[1])}")
        if self.examples:
            parts.append("e.g. " + " | ".join(self.examples))
        return f"- {self.name}: " + "; ".join(parts)


@dataclass
class DataProfile:
    path: str
    format: str
    rows: int
    rows_exact: bool
    sampled: int
    bad_records: int
    columns: list[ColumnProfile]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_text(self) -> str:
        count = f"{self.rows:,} rows" if self.rows_exact else f"about {self.rows:,} rows (estimated)"
        bad = f", {self.bad_records} unreadable records in the sample" if self.bad_records else ""
        head = f"data: {Path(self.path).name} ({self.format}), {count}{bad}; columns:"
        return "\n".join([head, *(c.to_text() for c in self.columns)])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def profile_data(path: str | os.PathLike, *, sample_rows: int = 1000, examples: int = 3) -> DataProfile:
    """Profile the input at ``path`` from its first ``sample_rows`` records (see the module docstring)."""
    from dataflow.core.fileio import detect_format, iter_records

    fmt = detect_format(path)
    records: list[dict[str, Any]] = []
    bad = sized = 0
    reached_end = True
    for raw in iter_records(path, fmt):
        if len(records) + bad >= sample_rows:
            reached_end = False
            break
        if raw.record is None:
            bad += 1
            continue
        records.append(raw.record)
        sized += raw.size
    rows, exact = len(records) + bad, True
    if not reached_end:
        rows, exact = _count_rows(Path(path), fmt, sized / max(len(records), 1))
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = [_profile_column(name, [r.get(name) for r in records], examples) for name in names]
    return DataProfile(str(path), fmt, rows, exact, len(records), bad, columns)


def _count_rows(path: Path, fmt: str, mean_size: float) -> tuple[int, bool]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows, True
    size = sum(f.stat().st_size for f in path.rglob("*.arrow")) if path.is_dir() else path.stat().st_size
    if fmt == "jsonl" and size <= EXACT_COUNT_BYTES and not path.name.endswith(".gz"):
        count = 0
        with open(path, "rb") as f:
            for line in f:
                count += bool(line.strip())
        return count, True
    if size <= EXACT_PARSE_BYTES:  # other formats must be parsed to count: only small ones
        from dataflow.core.fileio import iter_records

        return sum(1 for _ in iter_records(path, fmt)), True
    return max(1, round(size / max(mean_size, 1.0))), False


def _profile_column(name: str, values: list[Any], n_examples: int) -> ColumnProfile:
    present = [v for v in values if v is not None and v != ""]
    kinds = Counter(_kind(v) for v in present)
    typ = "null" if not kinds else next(iter(kinds)) if len(kinds) == 1 else "mixed"
    if set(kinds) == {"int", "number"}:
        typ = "number"
    col = ColumnProfile(name, typ, round(1 - len(present) / len(values), 3) if values else 0.0)
    seen: dict[str, None] = {}
    for value in present:
        seen.setdefault(_short(value), None)
        if len(seen) >= n_examples:
            break
    col.examples = list(seen)
    texts = [v for v in present if isinstance(v, str)]
    if texts:
        _text_stats(col, texts)
    numbers = [v for v in present if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and typ in ("int", "number"):
        col.range = (min(numbers), max(numbers))
    return col


def _text_stats(col: ColumnProfile, texts: list[str]) -> None:
    lengths = [len(t) for t in texts]
    words = [_WORD.findall(t.lower()) for t in texts]
    counts = [len(w) for w in words]
    col.chars = {"min": min(lengths), "median": int(statistics.median(lengths)), "max": max(lengths)}
    col.words = {"min": min(counts), "median": int(statistics.median(counts)), "max": max(counts)}
    sample = texts[:200]  # scripts and hints from a bounded sample: cheap on long documents
    letters: Counter = Counter()
    for text in sample:
        for ch in text[:2000]:
            if ch.isalpha():
                letters[_script(ord(ch))] += 1
    total = sum(letters.values())
    if total:
        col.scripts = {s: round(n / total, 2) for s, n in letters.most_common(3) if n / total >= 0.05}
    all_words = [w for ws in words[:200] for w in ws[:400]]
    if all_words:
        col.english = round(sum(w in _ENGLISH for w in all_words) / len(all_words), 3)
    col.hints = [hint for hint, pattern in _HINTS.items()
                 if sum(bool(pattern.search(t[:5000])) for t in sample) >= max(1, 0.2 * len(sample))]


def _script(code: int) -> str:
    for low, high, script in _SCRIPTS:
        if low <= code <= high:
            return script
    return "other"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def _short(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return json.dumps(text[:EXAMPLE_CHARS] + ("..." if len(text) > EXAMPLE_CHARS else ""), ensure_ascii=False)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
