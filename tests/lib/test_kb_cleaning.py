"""Rule-based cleaning: markup, broken lines and repeated boilerplate, with code left alone."""

from __future__ import annotations

from dataflow.lib.kb_cleaning import remove_lines, repair_lines, repeated_lines, split_pages, strip_markup


def test_markup_goes_text_and_structure_stay():
    text = ("# Title\n\n<p>A <b>bold</b> claim &amp; a <a href='x'>link</a>.</p>\n\n<!-- image -->\n\n"
            "![](pic.png) ![figure](f.png) ![Sales by region](s.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "<!-- page 2 -->\nSee `<div>` and:\n\n```html\n<div>&amp;</div>\n```")
    out = strip_markup(text)
    assert "A bold claim & a link." in out and "<" not in out.split("See")[0].replace("<!-- page 2 -->", "")
    assert "Sales by region" in out and "pic.png" not in out and "figure" not in out and "image" not in out
    assert "# Title" in out and "| a | b |\n|---|---|\n| 1 | 2 |" in out and "<!-- page 2 -->" in out
    assert "`<div>`" in out and "```html\n<div>&amp;</div>\n```" in out  # code untouched


def test_broken_lines_joined_and_hyphenation_repaired_but_structure_kept():
    text = ("The model was trained on infor-\nmation from many\nsources.\n\n## Next\n- one\n- two\n"
            "| a |\n| b |\nWell-\nKnown stays.\n\n```\nline one\nline two\n```")
    out = repair_lines(text)
    assert "The model was trained on information from many sources." in out
    assert "## Next\n- one\n- two\n| a |\n| b |" in out
    assert "Well- Known stays." in out  # upper case after the hyphen: a real compound, hyphen kept
    assert "```\nline one\nline two\n```" in out


def test_lines_repeating_on_many_pages_are_boilerplate():
    pages = [f"Annual Report 2023\n\nBody text {i} unique here.\n\nPage {i} of 5" for i in range(1, 6)]
    keys = repeated_lines(pages)
    assert keys == {"annual report 2023", "page # of #"}  # only page-number lines match by digits
    cleaned = [remove_lines(p, keys) for p in pages]
    assert all(c.strip() == f"Body text {i} unique here." for i, c in enumerate(cleaned, 1))
    # Two pages are not "many"; a line on 3 of 20 pages is under the fraction; table rows never count.
    assert repeated_lines(pages[:2]) == set()
    assert repeated_lines(["x\nrare line"] * 3 + [f"y{i}" for i in range(17)]) == set()
    assert repeated_lines(["| h |"] * 5) == set()


def test_split_pages_at_markers():
    assert split_pages("intro\n<!-- page 1 -->\na\n<!-- Page 2 -->\nb") == [
        "intro", "<!-- page 1 -->\na", "<!-- Page 2 -->\nb"]
    assert split_pages("no markers") == ["no markers"]
