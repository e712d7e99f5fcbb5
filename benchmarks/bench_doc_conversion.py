"""Benchmark: documents to Markdown against docling's expected output, ours beside markitdown's.

    python benchmarks/bench_doc_conversion.py [../shared/fixtures/docs/docling]

For each PDF (``pdf/<name>.pdf`` with ``pdf/<name>.md``) and HTML page (``html/<name>.html`` with
``html/<name>.html.md``) it prints the similarity of each converter's Markdown to the expected one, then
the average per format and overall, and pages/s (HTML: one page per file).

Similarity: normalised edit similarity, ``1 - Levenshtein(a, b) / max(len(a), len(b))`` (rapidfuzz's
``Levenshtein.normalized_similarity``; difflib's ``SequenceMatcher.ratio`` when rapidfuzz is absent, which
the header says), on text where Markdown punctuation (``# * | ` - _ >``) is replaced by spaces and runs
of whitespace are folded, so the score is about the words and their order, not the markup dialect.

markitdown (MIT, ``pip install markitdown[pdf]``) is optional: without it its columns print as ``-``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from dataflow.lib.documents import DocumentError, convert_path

_MARKUP = re.compile(r"[#*|`\-_>]+")


def normalise(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).split())


def similarity_function():
    try:
        from rapidfuzz.distance import Levenshtein

        return "normalised Levenshtein similarity (rapidfuzz)", Levenshtein.normalized_similarity
    except ImportError:
        import difflib

        return "difflib SequenceMatcher ratio", lambda a, b: difflib.SequenceMatcher(None, a, b).ratio()


def ours(path: Path) -> tuple[str, int]:
    try:
        document = convert_path(path)
    except DocumentError as exc:
        print(f"  ours: {path.name}: {exc}", file=sys.stderr)
        return "", 1
    return document.markdown, document.pages


def markitdown_converter():
    try:
        from markitdown import MarkItDown
    except ImportError:
        return None
    converter = MarkItDown()

    def convert(path: Path) -> str:
        try:
            return converter.convert(str(path)).text_content or ""
        except Exception as exc:  # a third-party converter's failure is a zero score, not a crash
            print(f"  markitdown: {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return ""

    return convert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "docs" / "docling"
    parser.add_argument("root", nargs="?", type=Path, default=default)
    args = parser.parse_args()
    measure, similarity = similarity_function()
    other = markitdown_converter()
    if other is None:
        print("markitdown is not installed (pip install 'markitdown[pdf]'): its columns show '-'")
    cases = [("pdf", p, p.with_suffix(".md")) for p in sorted((args.root / "pdf").glob("*.pdf"))]
    cases += [("html", p, Path(f"{p}.md")) for p in sorted((args.root / "html").glob("*.html"))]
    cases = [case for case in cases if case[2].exists()]
    if not cases:
        sys.exit(f"no documents with expected Markdown under {args.root}")
    print(f"similarity: {measure} of whitespace-normalised text, Markdown punctuation folded")
    print(f"{'document':<42} {'pages':>5} {'ours':>6} {'markitdown':>10}")
    totals: dict[str, dict[str, list[float]]] = {}
    seconds = {"ours": 0.0, "markitdown": 0.0}
    pages_total = 0
    for fmt, path, expected_path in cases:
        expected = normalise(expected_path.read_text(encoding="utf-8"))
        start = time.perf_counter()
        markdown, pages = ours(path)
        seconds["ours"] += time.perf_counter() - start
        pages_total += pages
        row = totals.setdefault(fmt, {"ours": [], "markitdown": []})
        row["ours"].append(similarity(normalise(markdown), expected))
        theirs = "-"
        if other is not None:
            start = time.perf_counter()
            their_markdown = other(path)
            seconds["markitdown"] += time.perf_counter() - start
            row["markitdown"].append(similarity(normalise(their_markdown), expected))
            theirs = f"{row['markitdown'][-1]:.3f}"
        print(f"{fmt + '/' + path.name:<42} {pages:>5} {row['ours'][-1]:>6.3f} {theirs:>10}")

    def mean(values: list[float]) -> str:
        return f"{sum(values) / len(values):.3f}" if values else "-"

    everything = {"ours": [], "markitdown": []}
    for fmt, row in totals.items():
        for name in everything:
            everything[name] += row[name]
        label = f"average {fmt} ({len(row['ours'])} files)"
        print(f"{label:<48} {mean(row['ours']):>6} "
              f"{mean(row['markitdown']):>10}")
    print(f"{'average, all':<48} {mean(everything['ours']):>6} {mean(everything['markitdown']):>10}")
    rate = {name: (pages_total / s if s else 0.0) for name, s in seconds.items()}
    print(f"pages/s (pages as ours counts them, {pages_total} in all): ours {rate['ours']:.1f}"
          + (f", markitdown {rate['markitdown']:.1f}" if other is not None else ""))


if __name__ == "__main__":
    main()
