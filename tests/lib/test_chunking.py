"""Markdown chunking: budgets (characters and real Qwen tokens), blocks kept whole, heading paths, pages,
overlap; on hand-made documents and on docling's expected Markdown of real PDFs and HTML pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dataflow.lib.chunking import char_count, chunk_markdown, parse_blocks

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "docs" / "docling"

CODE = "```python\n" + "\n".join(f"x{i} = compute({i})  # step {i}" for i in range(8)) + "\n```"
TABLE = "| name | value |\n|---|---|\n" + "\n".join(f"| row {i} | {i * 11} |" for i in range(8))
PROSE = " ".join(f"Sentence number {i} talks about retrieval." for i in range(12))

DOC = f"""<!-- page 1 -->
# Guide

An introduction to the guide.

## Install

Run the installer first.

{CODE}

<!-- page 2 -->
### Tables

{TABLE}

<!-- page 3 -->
## Usage

{PROSE}
"""


def _fenced_blocks_balanced(text: str) -> bool:
    return len(re.findall(r"^```", text, flags=re.MULTILINE)) % 2 == 0


def test_blocks_have_kinds_heading_paths_and_pages():
    blocks = parse_blocks(DOC)
    assert [b.kind for b in blocks] == ["heading", "paragraph", "heading", "paragraph", "code", "heading",
                                        "table", "heading", "paragraph"]
    assert blocks[4].path == ("Guide", "Install") and blocks[4].page == 1
    assert blocks[6].path == ("Guide", "Install", "Tables") and blocks[6].page == 2
    assert blocks[8].path == ("Guide", "Usage") and blocks[8].page == 3
    # A '#' line inside a code fence is code, not a heading; a blank line inside it does not end it.
    fenced = parse_blocks("```\n# not a heading\n\nstill code\n```\n\nafter")
    assert [b.kind for b in fenced] == ["code", "paragraph"] and "still code" in fenced[0].text


def test_budget_respected_and_code_and_tables_never_split_when_they_fit():
    for size in (240, 300, 500):  # the code block is 221 characters
        chunks = chunk_markdown(DOC, size, 0)
        assert all(len(c.text) <= size for c in chunks)
        texts = [c.text for c in chunks]
        assert sum(CODE in t for t in texts) == 1 and sum(TABLE in t for t in texts) == 1
        assert all("<!-- page" not in t for t in texts)
    # Nothing is lost: every word of the document is in some chunk.
    joined = " ".join(c.text for c in chunk_markdown(DOC, 200, 0))
    assert all(w in joined for w in re.sub(r"<!--.*?-->", "", DOC).split())


def test_heading_stays_with_its_first_paragraph_and_paths_and_pages_are_right():
    chunks = chunk_markdown(DOC, 260, 0)
    for c in chunks:
        assert not c.text.rstrip().split("\n")[-1].startswith("#"), c.text  # no chunk ends on a heading
    by_start = {c.text.split("\n")[0]: c for c in chunks}
    assert by_start["### Tables"].heading_path == "Guide > Install > Tables"
    assert by_start["### Tables"].pages == (2, 2)
    usage = by_start["## Usage"]
    assert usage.heading_path == "Guide > Usage" and usage.pages == (3, 3)
    assert chunks[0].heading_path == "Guide" and chunks[0].pages == (1, 1)


def test_oversized_code_block_and_table_split_by_lines_with_fence_and_header_repeated():
    chunks = chunk_markdown(f"# Code\n\n{CODE}\n\n# Data\n\n{TABLE}", 120, 0)
    assert all(len(c.text) <= 120 for c in chunks)
    code = [c.text for c in chunks if "compute(" in c.text]
    assert len(code) > 1 and all(_fenced_blocks_balanced(t) and t.count("```python") == 1 for t in code)
    assert code[0].startswith("# Code\n\n```python")
    lines = [ln for t in code for ln in t.split("\n") if "compute(" in ln]
    assert lines == CODE.split("\n")[1:-1]  # every line once, in order, none cut
    tables = [c.text for c in chunks if "| row" in c.text]
    assert len(tables) > 1 and all("| name | value |\n|---|---|" in t for t in tables)


def test_overlap_repeats_the_end_of_the_previous_paragraph_inside_the_budget():
    chunks = chunk_markdown(PROSE, 150, 40)
    assert len(chunks) > 2 and all(len(c.text) <= 150 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        head = after.text.split("\n\n")[0]
        assert 0 < len(head) <= 40 and before.text.endswith(head)
    without = chunk_markdown(PROSE, 150, 0)
    assert len(without) < len(chunks)
    # No overlap is cut out of a code block: the chunk after one starts cleanly.
    after_code = chunk_markdown(f"{CODE}\n\n{PROSE}", len(CODE) + 40, 30)
    assert after_code[0].text == CODE and after_code[1].text.startswith("Sentence number 0")


def test_a_top_level_section_that_fits_starts_a_new_chunk():
    b_rest = "Second paragraph of B. " * 4  # 92 characters
    doc = "# A\n\n" + "alpha " * 16 + "\n\n# B\n\nFirst of B.\n\n" + b_rest + "\n\n# C\n\nshort"
    chunks = chunk_markdown(doc, 200, 0)
    # The start of B would fit after A, but all of B fits in a chunk of its own: B moves whole.
    assert [c.heading_path for c in chunks] == ["A", "B"]
    assert chunks[1].text.startswith("# B\n\nFirst of B.") and b_rest.strip() in chunks[1].text
    assert chunks[1].text.endswith("# C\n\nshort")  # little C still joins B: it fits there
    # A section too big for any chunk is packed as it comes.
    big = chunk_markdown("# A\n\nalpha\n\n# B\n\nbeta.\n\n" + "beta gamma. " * 40, 200, 0)
    assert big[0].text == "# A\n\nalpha\n\n# B\n\nbeta."


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        chunk_markdown("x", 10, 10)
    with pytest.raises(ValueError):
        chunk_markdown("x", 0, 0)


def _docling_markdown() -> list[Path]:
    files = sorted(DOCS.glob("*/*.md"))
    if not files:
        pytest.skip("../shared/fixtures/docs/docling is not available")
    return files


def test_docling_documents_chunk_within_budget_by_characters():
    for path in _docling_markdown():
        text = path.read_text(encoding="utf-8")
        chunks = chunk_markdown(text, 400, 40, char_count)
        assert chunks and all(len(c.text) <= 400 for c in chunks), path.name
        assert all(_fenced_blocks_balanced(c.text) for c in chunks), path.name


def test_docling_documents_chunk_within_budget_by_real_qwen_tokens():
    files = _docling_markdown()
    try:
        from dataflow.serving.model_files import load_tokenizer

        tokenizer = load_tokenizer("qwen2.5-coder-1.5b")
    except Exception as exc:  # weights or llama.cpp not installed here
        pytest.skip(f"the embedded Qwen vocabulary is not available: {exc}")
    for path in files:
        text = path.read_text(encoding="utf-8")
        chunks = chunk_markdown(text, 128, 16, tokenizer.count)
        counts = tokenizer.count([c.text for c in chunks])
        assert max(counts) <= 128, path.name
        # Tokens, not characters: a 128-token chunk of English holds far more than 128 characters.
        if path.stem == "redp5110_sampled":
            assert max(len(c.text) for c in chunks) > 300
