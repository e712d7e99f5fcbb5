"""KBCChunkGenerator: one row per chunk, children of the document row, with source, pages and headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataflow.operators.knowledge.chunk_generator import KBCChunkGenerator
from dataflow.testing import run_operator

DOCS = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "docs" / "docling"

DOC = ("<!-- page 4 -->\n# Manual\n\n" + "The pump moves water. " * 12 + "\n\n<!-- page 5 -->\n## Care\n\n"
       + "Clean the filter weekly. " * 6)


def test_each_chunk_is_a_child_row_with_source_heading_path_and_pages():
    result = run_operator(KBCChunkGenerator(chunk_size=160, chunk_overlap=20, tokenizer="chars"),
                          [{"markdown": DOC, "path": "manual.pdf"}, {"markdown": "  ", "path": "blank.pdf"}],
                          input_source_key="path")
    rows = result.kept
    assert result.kept_ids == [f"1.{k}" for k in range(len(rows))] and len(rows) >= 3
    assert all(len(r["raw_chunk"]) <= 160 and r["source"] == "manual.pdf" for r in rows)
    assert [r["chunk_index"] for r in rows] == list(range(len(rows)))
    assert rows[0]["raw_chunk"].startswith("# Manual") and rows[0]["heading_path"] == "Manual"
    assert rows[0]["page_range"] == [4, 4]
    care = [r for r in rows if "## Care" in r["raw_chunk"]]
    assert care and care[0]["heading_path"] == "Manual > Care" and care[-1]["page_range"][-1] == 5
    assert rows[-1]["page_range"] == [5, 5]
    assert result.drop_reasons == ["no text to chunk"]
    assert result.written == ["raw_chunk", "heading_path", "page_range", "chunk_index", "source"]


def test_without_a_source_binding_no_source_column_and_no_page_markers_no_pages():
    result = run_operator(KBCChunkGenerator(chunk_size=100, chunk_overlap=0, tokenizer=None),
                          [{"markdown": "Plain text. " * 20}])
    assert "source" not in result.written and "source" not in result.kept[0]
    assert all(r["page_range"] is None and r["heading_path"] == "" for r in result.kept)
    # Bound to the input column, the chunk text replaces the document's text in each chunk row.
    replaced = run_operator(KBCChunkGenerator(chunk_size=100, chunk_overlap=0, tokenizer=None),
                            [{"markdown": "Plain text. " * 20}], output_key="markdown").kept
    assert [r["markdown"] for r in replaced] == [r["raw_chunk"] for r in result.kept]


def test_default_tokenizer_counts_real_qwen_tokens_on_a_real_document():
    path = DOCS / "pdf" / "code_and_formula.md"
    if not path.is_file():
        pytest.skip("../shared/fixtures/docs/docling is not available")
    try:
        from dataflow.serving.model_files import load_tokenizer

        tokenizer = load_tokenizer("qwen2.5-coder-1.5b")
    except Exception as exc:
        pytest.skip(f"the embedded Qwen vocabulary is not available: {exc}")
    text = path.read_text(encoding="utf-8")
    result = run_operator(KBCChunkGenerator(chunk_size=96, chunk_overlap=12), [{"markdown": text}])
    chunks = [r["raw_chunk"] for r in result.kept]
    assert len(chunks) > 3 and max(tokenizer.count(chunks)) <= 96
    assert max(len(c) for c in chunks) > 96  # tokens, not characters
    assert all(c.count("```") % 2 == 0 for c in chunks)  # code fences closed in every chunk


def test_bad_sizes_are_refused_when_built():
    with pytest.raises(ValueError, match="chunk_overlap"):
        KBCChunkGenerator(chunk_size=50, chunk_overlap=50)
