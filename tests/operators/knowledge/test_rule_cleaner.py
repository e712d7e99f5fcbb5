"""KBCTextRuleCleaner: markup, boilerplate across the pages of a text and across a document's chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataflow.operators.knowledge.rule_cleaner import KBCTextRuleCleaner
from dataflow.testing import run_operator

DOCS = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "docs" / "docling"


def _page(n: int, body: str) -> str:
    return f"<!-- page {n} -->\nACME Corp - Confidential\n\n{body}\n\n{n}\n"


def test_boilerplate_across_pages_of_one_text_and_broken_lines_and_markup():
    doc = "".join(_page(n, f"Paragraph {n} was hard\nwrapped {n} times, hyphen-\nated {n} &amp; <i>styled</i>.")
                  for n in range(1, 5))
    out = run_operator(KBCTextRuleCleaner(), [{"raw_chunk": doc}, {"raw_chunk": None}]).kept
    text = out[0]["raw_chunk"]
    assert "ACME" not in text and "\n1\n" not in text and "<!-- page 4 -->" in text
    assert "Paragraph 3 was hard wrapped 3 times, hyphenated 3 & styled." in text
    assert out[1]["raw_chunk"] is None


def test_boilerplate_across_chunks_of_a_document_only_when_grouped():
    rows = [{"raw_chunk": f"Footer (c) ACME 2023\n\nChunk {i} text.", "source": "a.pdf"} for i in range(3)]
    rows.append({"raw_chunk": "Footer (c) ACME 2023\n\nOther doc.", "source": "b.pdf"})
    grouped = run_operator(KBCTextRuleCleaner(), rows, input_doc_key="source", output_key="clean").kept
    assert [r["clean"] for r in grouped] == ["Chunk 0 text.", "Chunk 1 text.", "Chunk 2 text.",
                                             "Footer (c) ACME 2023\n\nOther doc."]
    alone = run_operator(KBCTextRuleCleaner(), rows).kept  # unbound: each row is its own document
    assert all(r["raw_chunk"].startswith("Footer") for r in alone)
    off = run_operator(KBCTextRuleCleaner(remove_boilerplate=False), rows, input_doc_key="source").kept
    assert all(r["raw_chunk"].startswith("Footer") for r in off)


def test_docling_markdown_keeps_its_tables_and_loses_its_image_placeholders():
    path = DOCS / "pdf" / "redp5110_sampled.md"
    if not path.is_file():
        pytest.skip("../shared/fixtures/docs/docling is not available")
    text = path.read_text(encoding="utf-8")
    cleaned = run_operator(KBCTextRuleCleaner(), [{"raw_chunk": text}]).kept[0]["raw_chunk"]
    assert "<!-- image -->" in text and "<!--" not in cleaned
    table_rows = [ln for ln in text.split("\n") if ln.startswith("|")]
    assert [ln for ln in cleaned.split("\n") if ln.startswith("|")] == [" ".join(r.split()) for r in table_rows]
    headings = [ln for ln in text.split("\n") if ln.startswith("#")]
    assert [ln for ln in cleaned.split("\n") if ln.startswith("#")] == [" ".join(h.split()) for h in headings]
