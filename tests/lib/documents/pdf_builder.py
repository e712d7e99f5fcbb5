"""Small PDFs written by hand for the converter tests: text pages, an image-only (scanned) page."""

from __future__ import annotations


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(contents: list[bytes], with_image: bool = False) -> bytes:
    """A PDF with one page per content stream; Helvetica is /F1, a 1x1 grey image is /Im1."""
    objects: list[bytes] = []
    n_pages = len(contents)
    first_page = 5  # objects: 1 catalog, 2 pages, 3 font, 4 image, then page + content pairs
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
                   b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x80\nendstream")
    for i, content in enumerate(contents):
        resources = "/Font << /F1 3 0 R >>" + (" /XObject << /Im1 4 0 R >>" if with_image else "")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << {resources} >> "
                       f"/Contents {first_page + 2 * i + 1} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def text_page(lines: list[tuple[float, str]], top: float = 760, leading: float = 1.5) -> bytes:
    """A content stream writing each (font size, text) line below the previous one; text opening with
    two spaces is indented."""
    ops, y = [], top
    for size, text in lines:
        y -= size * leading  # the baseline moves down by this line's own size: tall lines do not overlap
        x = 90 if text.startswith("  ") else 72
        ops.append(f"BT /F1 {size} Tf {x} {y:.1f} Td ({_escape(text.strip())}) Tj ET")
    return "\n".join(ops).encode("cp1252")  # the font's WinAnsiEncoding


def text_pdf(pages: list[list[tuple[float, str]]]) -> bytes:
    return build_pdf([text_page(lines) for lines in pages])


def scanned_pdf(n_pages: int = 1) -> bytes:
    """Pages that only paint an image: no text layer, as a scanner makes them."""
    return build_pdf([b"q 500 0 0 700 50 50 cm /Im1 Do Q"] * n_pages, with_image=True)


def table_pdf() -> bytes:
    """A paragraph, a ruled 2x3 table (header row: Item, Count) and a closing paragraph."""
    grid = b"0.5 w 72 560 200 60 re S 172 560 m 172 620 l S 72 600 m 272 600 l S 72 580 m 272 580 l S"
    cells = [(78, 606, "Item"), (178, 606, "Count"), (78, 586, "apples"), (178, 586, "12"),
             (78, 566, "pears"), (178, 566, "7")]
    text = ["BT /F1 11 Tf 72 700 Td (The stock count for the week is below.) Tj ET"]
    text += [f"BT /F1 10 Tf {x} {y} Td ({t}) Tj ET" for x, y, t in cells]
    text.append("BT /F1 11 Tf 72 500 Td (Counts are taken every Friday.) Tj ET")
    return build_pdf([grid + b"\n" + "\n".join(text).encode()])
