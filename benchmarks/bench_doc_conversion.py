"""Benchmark: documents to Markdown against docling's expected output, ours beside markitdown's.

    python benchmarks/bench_doc_conversion.py [../shared/fixtures/docs/docling]

For each PDF (``pdf/<name>.pdf`` with ``pdf/<name>.md``) and HTML page (``html/<name>.html`` with
``html/<name>.html.md``) it prints the similarity of each converter's Markdown to the expected one, then
the average per format and overall, and pages/s (HTML: one page per file).

Similarity: normalised edit similarity, ``1 - Levenshtein(a, b) / max(len(a), len(b))`` (rapidfuzz's
``Levenshtein.normalized_similarity``; difflib's ``SequenceMatcher.ratio`` when rapidfuzz is absent, which
the header says), on text where Markdown punctuation (``# * | ` - _ >``) is replaced by spaces and runs
of whitespace are folded, so the score is about the words and their order, not the markup dialect.

Table-cell F1, for the documents whose expected Markdown has tables: the cells of every Markdown table
row (separator rows left out, cell text whitespace-normalised) as a multiset, ours against the expected
one; F1 of the overlap. It says whether tables come out as tables with the right cells.

markitdown (MIT, ``pip install markitdown[pdf]``) is optional: without it its columns print as ``-``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

from dataflow.lib.documents import DocumentError, convert_path

_MARKUP = re.compile(r"[#*|`\-_>]+")


def normalise(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).split())


def table_cells(markdown: str) -> Counter:
    cells: Counter = Counter()
    for line in markdown.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.fullmatch(r"[|:\-\s]+", line):
            cells.update(" ".join(cell.split()) for cell in line.strip("|").split("|") if cell.strip())
    return cells


def cell_f1(found: Counter, expected: Counter) -> float:
    overlap = sum((found & expected).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(found.values()), overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


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
    print(f"{'document':<42} {'pages':>5} {'ours':>6} {'markitdown':>10} {'cells ours':>10} {'cells md':>8}")
    totals: dict[str, dict[str, list[float]]] = {}
    cell_scores: dict[str, list[float]] = {"ours": [], "markitdown": []}
    seconds: Counter = Counter()  # (converter, format) -> seconds
    pages_by_format: Counter = Counter()
    for fmt, path, expected_path in cases:
        expected_markdown = expected_path.read_text(encoding="utf-8")
        expected, expected_cells = normalise(expected_markdown), table_cells(expected_markdown)
        start = time.perf_counter()
        markdown, pages = ours(path)
        seconds["ours", fmt] += time.perf_counter() - start
        pages_by_format[fmt] += pages
        row = totals.setdefault(fmt, {"ours": [], "markitdown": []})
        row["ours"].append(similarity(normalise(markdown), expected))
        theirs, cells = "-", {"ours": "-", "markitdown": "-"}
        outputs = {"ours": markdown}
        if other is not None:
            start = time.perf_counter()
            outputs["markitdown"] = other(path)
            seconds["markitdown", fmt] += time.perf_counter() - start
            row["markitdown"].append(similarity(normalise(outputs["markitdown"]), expected))
            theirs = f"{row['markitdown'][-1]:.3f}"
        if expected_cells:
            for name, output in outputs.items():
                cell_scores[name].append(cell_f1(table_cells(output), expected_cells))
                cells[name] = f"{cell_scores[name][-1]:.3f}"
        print(f"{fmt + '/' + path.name:<42} {pages:>5} {row['ours'][-1]:>6.3f} {theirs:>10} "
              f"{cells['ours']:>10} {cells['markitdown']:>8}")

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
    label = f"table-cell F1, average ({len(cell_scores['ours'])} files with tables)"
    print(f"{label:<48} {mean(cell_scores['ours']):>6} {mean(cell_scores['markitdown']):>10}")
    for fmt, pages in pages_by_format.items():
        rates = [f"{name} {pages / seconds[name, fmt]:.1f}" for name in ("ours", "markitdown")
                 if seconds[name, fmt]]
        print(f"pages/s, {fmt} ({pages} pages as ours counts them; HTML: 1 a file): {', '.join(rates)}")


if __name__ == "__main__":
    main()
