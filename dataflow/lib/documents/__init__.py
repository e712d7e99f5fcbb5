"""Documents to Markdown: PDF (text layer), HTML, DOCX, Markdown and plain text, from a path, bytes or a URL.

    doc = convert_path("report.pdf")          # Document(markdown=..., pages=12, kind="pdf")
    doc = convert_bytes(data, name="page.html")
    doc = fetch_and_convert("https://example.org/a.html", timeout_s=20)

A document that cannot be read raises :class:`DocumentError` with a reason meant for a person (``"PDF has
no text layer (scanned?): 3 pages, no text"``, ``"empty file"``, ``"PDF is encrypted"``...), so a caller
turns it into a reject and goes on with the next document.

The kind comes from the file's first bytes (``%PDF``, a ZIP holding ``word/document.xml``, ``<html``)
and, failing those, from its extension; see :func:`detect_kind`. The heavy libraries are imported when a
document of their kind is converted: pypdfium2 (PDF text), pdfplumber (PDF table grids, optional),
lxml and trafilatura (HTML), python-docx (DOCX), charset-normalizer (text in an unknown encoding); all
MIT, BSD or Apache-2.0. Why these, and what they score: :mod:`.pdf`, :mod:`.html`. No OCR: a scanned
PDF is refused, not guessed at.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from io import BytesIO

KINDS = ("pdf", "html", "docx", "markdown", "text")

_EXTENSIONS = {
    ".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html", ".docx": "docx",
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".rst": "text",
}


class DocumentError(Exception):
    """A document that cannot be converted; ``str(error)`` is the reason."""


@dataclass(frozen=True)
class Document:
    """A converted document: its Markdown, its page count (PDF; 1 for other kinds) and its kind."""

    markdown: str
    pages: int
    kind: str


def detect_kind(data: bytes, name: str = "", content_type: str = "") -> str:
    """The document kind of ``data``, from its leading bytes first, then the MIME type, then ``name``."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise DocumentError("unsupported ZIP-based file (only .docx is read)")
    mime = content_type.split(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "application/pdf":
        return "pdf"
    if mime == "text/markdown":
        return "markdown"
    extension = os.path.splitext(name.split("?")[0])[1].lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    lowered = head[:256].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "html"
    if b"\x00" in data[:4096]:
        raise DocumentError(f"unsupported binary file{' ' + repr(name) if name else ''}")
    return "text"


def convert_bytes(data: bytes, name: str = "", kind: str | None = None, content_type: str = "",
                  pdf_tables: bool = True, page_markers: bool = False) -> Document:
    """Convert one document held in memory. ``name`` (a file name or URL) helps guess the kind.
    ``pdf_tables=False`` leaves a PDF's ruled tables as text (much faster: see :mod:`.pdf`);
    ``page_markers`` puts ``<!-- page N -->`` before each PDF page's content."""
    if not data:
        raise DocumentError("empty file")
    kind = kind or detect_kind(data, name, content_type)
    if kind == "pdf":
        from dataflow.lib.documents.pdf import pdf_to_markdown

        markdown, pages = pdf_to_markdown(data, with_tables=pdf_tables, page_markers=page_markers)
        return Document(markdown, pages, kind)
    if kind == "docx":
        from dataflow.lib.documents.docx import docx_to_markdown

        return Document(docx_to_markdown(data), 1, kind)
    from dataflow.lib.documents.text import decode_text

    text = decode_text(data)
    if kind == "html":
        from dataflow.lib.documents.html import html_to_markdown

        return Document(html_to_markdown(text, url=name if "://" in name else None), 1, kind)
    if kind not in ("markdown", "text"):
        raise DocumentError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DocumentError("file holds only whitespace")
    return Document(text + "\n", 1, kind)


def convert_path(path: str | os.PathLike, kind: str | None = None, pdf_tables: bool = True,
                 page_markers: bool = False) -> Document:
    """Convert one file on disk."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DocumentError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DocumentError(f"is a directory, not a file: {path}")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    return convert_bytes(data, name=path, kind=kind, pdf_tables=pdf_tables, page_markers=page_markers)


def is_url(source: str) -> bool:
    """Whether ``source`` is an http(s) URL rather than a path."""
    return source.lower().startswith(("http://", "https://"))


def fetch_and_convert(url: str, timeout_s: float = 20.0, max_bytes: int = 50_000_000,
                      pdf_tables: bool = True, page_markers: bool = False) -> Document:
    """Download ``url`` (http or https) and convert it. No network, a refused connection, a timeout or an
    HTTP error status raise :class:`DocumentError` naming the cause."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True,
                          headers={"User-Agent": "dataflow-document-converter"}) as response:
            if response.status_code >= 400:
                raise DocumentError(f"cannot fetch {url}: HTTP {response.status_code}")
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > max_bytes:
                    raise DocumentError(f"cannot fetch {url}: larger than {max_bytes} bytes")
            content_type = response.headers.get("content-type", "")
    except httpx.TransportError as exc:
        # ConnectError covers "no route", a refused port and a failed DNS lookup (offline machines).
        raise DocumentError(f"cannot fetch {url}: network unreachable or connection refused "
                            f"({type(exc).__name__}: {exc})") from None
    except httpx.HTTPError as exc:
        raise DocumentError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
    return convert_bytes(bytes(body), name=url, content_type=content_type, pdf_tables=pdf_tables,
                         page_markers=page_markers)


def convert_source(source: str, timeout_s: float = 20.0, pdf_tables: bool = True,
                   page_markers: bool = False) -> Document:
    """Convert a path or an http(s) URL."""
    source = source.strip()
    if not source:
        raise DocumentError("empty source (no path or URL)")
    if is_url(source):
        return fetch_and_convert(source, timeout_s, pdf_tables=pdf_tables, page_markers=page_markers)
    return convert_path(source, pdf_tables=pdf_tables, page_markers=page_markers)
