import io
import re
from pathlib import Path

import pytest

from dataflow.lib.documents import DocumentError, convert_bytes, convert_path, detect_kind
from tests.lib.documents.pdf_builder import scanned_pdf, table_pdf, text_pdf

pytest.importorskip("pypdfium2")
pytest.importorskip("trafilatura")

DOCLING = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "docs" / "docling"
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()


def report_pages(n: int = 3) -> list[list[tuple[float, str]]]:
    """Pages with a running header, a chapter heading, a hyphenated word, a list and a page number."""
    return [[(9, "ACME Annual Report 2024"), (20, f"Chapter {i} Results"),
             (11, f"The {WORDS[i]} fox jumps over the lazy dog and keeps running through the field"),
             (11, "until it reaches the dis-"), (11, "tant forest where it rests."),
             (11, f"A paragraph about {WORDS[i + 3]} starts here."),
             (11, f"• first {WORDS[i]} item"), (11, "  continued"), (11, "• second item"),
             (11, f"Closing words on {WORDS[i + 5]} are here."), (9, str(i))] for i in range(1, n + 1)]


def test_pdf_layout_rules():
    doc = convert_bytes(text_pdf(report_pages()))
    assert (doc.kind, doc.pages) == ("pdf", 3)
    md = doc.markdown
    assert "ACME Annual Report" not in md  # running header
    assert not re.search(r"^\d+$", md, re.M)  # page numbers
    assert md.count("# Chapter") == 3 and "# Chapter 2 Results\n" in md
    assert "until it reaches the distant forest where it rests." in md  # hyphenation, one paragraph
    assert "rests.\n\nA paragraph about" in md
    assert "- first beta item continued\n- second item\n\nClosing words" in md


def test_pdf_ruled_table_becomes_a_markdown_table():
    pytest.importorskip("pdfplumber")
    assert convert_bytes(table_pdf()).markdown == (
        "The stock count for the week is below.\n\n| Item | Count |\n|---|---|\n| apples | 12 |\n"
        "| pears | 7 |\n\nCounts are taken every Friday.\n")
    as_text = convert_bytes(table_pdf(), pdf_tables=False).markdown
    assert "|" not in as_text and "Item Count apples 12 pears 7" in as_text


def test_pdf_paragraphs_by_gap_and_across_pages():
    first = [(11, "Opening words of a paragraph that is long enough to fill the line"),
             (11, "and a second line"), (11, ""), (11, "New paragraph after a gap of one blank line that"),
             (11, "runs to the end of the page in the middle of the")]
    second = [(11, "sentence, which the next page finishes.")]
    markdown = convert_bytes(text_pdf([first, second])).markdown
    assert markdown == ("Opening words of a paragraph that is long enough to fill the line and a second line\n\n"
                        "New paragraph after a gap of one blank line that runs to the end of the page in the "
                        "middle of the sentence, which the next page finishes.\n")


def test_pdf_page_markers():
    first = [(11, "Page one holds a complete sentence."), (11, ""), (11, "And runs on into the")]
    second = [(11, "next page, where it ends."), (11, ""), (11, "Then page two says more.")]
    markdown = convert_bytes(text_pdf([first, second]), page_markers=True).markdown
    assert markdown == ("<!-- page 1 -->\n\nPage one holds a complete sentence.\n\nAnd runs on into the next "
                        "page, where it ends.\n\n<!-- page 2 -->\n\nThen page two says more.\n")


def test_two_pages_sharing_lines_keep_them():
    # two pages are too few to call a repeated line a running header
    page = [(11, "Same opening line on every page."), (11, "Different text follows here.")]
    assert convert_bytes(text_pdf([page, page])).markdown.count("Same opening line") == 2


@pytest.mark.parametrize("data, reason", [
    (scanned_pdf(2), "PDF has no text layer (scanned?): 2 page(s)"),
    (text_pdf(report_pages())[:900], "corrupt or truncated PDF"),
    (b"", "empty file"),
    (b"\x00\x01\x02binary", "unsupported binary file"),
    (b"   \n\t ", "only whitespace"),
])
def test_unreadable_documents_raise_with_reason(data, reason):
    with pytest.raises(DocumentError, match=re.escape(reason)):
        convert_bytes(data, name="doc")


def test_encrypted_pdf():
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(text_pdf(report_pages(1)))))
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="PDF is encrypted"):
        convert_bytes(out.getvalue())


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        convert_path(tmp_path / "nope.pdf")
    with pytest.raises(DocumentError, match="is a directory"):
        convert_path(tmp_path)


def test_non_utf8_html_is_decoded():
    page = ("<html><head><title>Caf\u00e9</title></head><body><article><h1>Cr\u00e8me br\u00fbl\u00e9e</h1>"
            "<p>Ein sch\u00f6ner Tag f\u00fcr das Caf\u00e9 am See, wo die G\u00e4ste \u00fcber "
            "Kr\u00e4uter und K\u00e4se reden. \u00c0 la fran\u00e7aise, na\u00efve et d\u00e9j\u00e0 "
            "vu.</p><ul><li>premi\u00e8re</li><li>deuxi\u00e8me</li></ul></article></body></html>")
    doc = convert_bytes(page.encode("cp1252"), name="page.html")
    assert doc.kind == "html"
    assert "Crème brûlée" in doc.markdown and "schöner Tag für das Café" in doc.markdown
    assert "première" in doc.markdown and "\ufffd" not in doc.markdown


def test_text_and_markdown_pass_through():
    assert convert_bytes(b"# Title\r\n\r\nbody\r\n", name="a.md").markdown == "# Title\n\nbody\n"
    latin = convert_bytes("Grüße aus Köln, schöne Straße und süße Äpfel für alle.".encode("latin-1"),
                          name="a.txt")
    assert latin.kind == "text" and "Grüße aus Köln" in latin.markdown


def test_docx():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Quarterly Review", level=1)
    paragraph = document.add_paragraph("Revenue grew in ")
    paragraph.add_run("every").bold = True
    paragraph.add_run(" region.")
    document.add_paragraph("north", style="List Bullet")
    document.add_paragraph("south", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Region", "Sales"], ["North", "12"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    doc = convert_bytes(buffer.getvalue(), name="report.docx")
    assert doc.kind == "docx"
    assert doc.markdown == ("# Quarterly Review\n\nRevenue grew in **every** region.\n\n- north\n- south\n\n"
                            "| Region | Sales |\n|---|---|\n| North | 12 |\n")


def test_detect_kind_by_content_before_extension():
    assert detect_kind(b"%PDF-1.7 ...", "report.txt") == "pdf"
    assert detect_kind(b"<!DOCTYPE html><html>", "page") == "html"
    assert detect_kind(b"plain words", "notes") == "text"


def _similarity(a: str, b: str) -> float:
    from rapidfuzz.distance import Levenshtein

    def norm(text):
        return " ".join(re.sub(r"[#*|`\-_>]+", " ", text).split())

    return Levenshtein.normalized_similarity(norm(a), norm(b))


# Measured (normalised edit similarity of whitespace-normalised text, Markdown punctuation folded), with
# about 0.05 of margin below each figure.
PDF_FLOORS = {"2305.03393v1-pg9": 0.84, "code_and_formula": 0.93, "normal_4pages": 0.81,
              "redp5110_sampled": 0.75, "right_to_left_02": 0.75, "table_mislabeled_as_picture": 0.83}


@pytest.mark.skipif(not DOCLING.exists(), reason="docling fixtures not present")
@pytest.mark.parametrize("name", sorted(PDF_FLOORS))
def test_docling_pdf_similarity(name):
    pytest.importorskip("rapidfuzz")
    expected = (DOCLING / "pdf" / f"{name}.md").read_text(encoding="utf-8")
    markdown = convert_path(DOCLING / "pdf" / f"{name}.pdf").markdown
    assert _similarity(markdown, expected) >= PDF_FLOORS[name]


@pytest.mark.skipif(not DOCLING.exists(), reason="docling fixtures not present")
def test_docling_pdf_headings_and_html_average():
    pytest.importorskip("rapidfuzz")
    paper = convert_path(DOCLING / "pdf" / "code_and_formula.pdf").markdown
    assert "## JavaScript Code Example" in paper and "## Formula" in paper
    pages = sorted((DOCLING / "html").glob("*.html"))
    scores = [_similarity(convert_path(p).markdown, Path(f"{p}.md").read_text(encoding="utf-8"))
              for p in pages]
    assert sum(scores) / len(scores) >= 0.92  # measured 0.961


def test_html_structure():
    page = ("<html><body><nav><a href='/'>Home</a></nav><h2>Prices</h2><p>See <a href='/faq'>the FAQ</a> "
            "and <b>bold</b> <em>words</em>.</p><ul><li>one<ul><li>inner</li></ul></li><li>two</li></ul>"
            "<table><tr><th colspan='2'>Fruit</th></tr><tr><td>apple</td><td>3</td></tr></table>"
            "<pre>x = 1\n  y = 2</pre></body></html>")
    assert convert_bytes(page.encode(), name="p.html").markdown == (
        "## Prices\n\nSee [the FAQ](/faq) and **bold** *words*.\n\n- one\n    - inner\n- two\n\n"
        "| Fruit | Fruit |\n|---|---|\n| apple | 3 |\n\n```\nx = 1\n  y = 2\n```\n")


def test_large_html_page_keeps_the_main_content():
    story = " ".join(f"The harbour authority reported that ship number {i} unloaded grain on time."
                     for i in range(40))
    links = "".join(f"<div class='promo'><p>Read also: sponsored offer number {i} for cheap "
                    f"flights and hotels today</p></div>" for i in range(30))
    page = (f"<html><body><div class='sidebar'>{links}</div><article><h1>Harbour news</h1>"
            f"<p>{story}</p></article></body></html>")
    markdown = convert_bytes(page.encode(), name="news.html").markdown
    assert markdown.startswith("# Harbour news\n\nThe harbour authority reported")
    assert "sponsored offer" not in markdown
