import http.server
import io
import socket
import threading

import pytest

from dataflow.operators.knowledge.file_to_markdown import FileOrURLToMarkdownConverter
from dataflow.testing import run_operator
from tests.lib.documents.pdf_builder import scanned_pdf, text_pdf

pytest.importorskip("pypdfium2")
pytest.importorskip("trafilatura")

REPORT = [[(20, "Findings"), (11, "The survey covered forty villages along the river."),
           (11, "Most households kept goats.")]]


def _files(tmp_path):
    good = tmp_path / "report.pdf"
    good.write_bytes(text_pdf(REPORT))
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(scanned_pdf())
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(text_pdf(REPORT)[:400])
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin = tmp_path / "page.html"
    latin.write_bytes("<html><body><h1>Grüße</h1><p>Schöne Grüße aus Köln, wo die Straße "
                      "über den Fluß führt.</p></body></html>".encode("cp1252"))
    return good, scanned, truncated, empty, latin


def test_each_unreadable_document_is_rejected_and_the_rest_converted(tmp_path):
    good, scanned, truncated, empty, latin = _files(tmp_path)
    rows = [{"source": str(p)} for p in (good, scanned, truncated, empty, latin)]
    rows.append({"source": str(tmp_path / "missing.docx")})
    result = run_operator(FileOrURLToMarkdownConverter(), rows, output_pages_key="pages")
    assert [r["source"] for r in result.kept] == [str(good), str(latin)]
    assert result.kept[0]["markdown"].startswith("# Findings\n\nThe survey covered forty villages")
    assert result.kept[0]["pages"] == 1
    assert "Schöne Grüße aus Köln" in result.kept[1]["markdown"]
    reasons = result.reject_reasons
    assert len(reasons) == 4
    assert "PDF has no text layer (scanned?)" in reasons[0] and str(scanned) in reasons[0]
    assert "corrupt or truncated PDF" in reasons[1]
    assert reasons[2].endswith("empty file")
    assert "no such file" in reasons[3]


def test_encrypted_pdf_is_rejected(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(text_pdf(REPORT))))
    writer.encrypt(user_password="secret")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as handle:
        writer.write(handle)
    good = tmp_path / "good.pdf"
    good.write_bytes(text_pdf(REPORT))
    result = run_operator(FileOrURLToMarkdownConverter(), [{"source": str(locked)}, {"source": str(good)}])
    assert result.reject_reasons == [f"{locked}: PDF is encrypted (it needs a password)"]
    assert len(result.kept) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


class _Page(http.server.BaseHTTPRequestHandler):
    body = (b"<html><head><title>Notes</title></head><body><article><h2>Field notes</h2><p>The "
            b"<a href='/river'>river</a> rose two metres in April.</p><table><tr><th>Month</th><th>Level"
            b"</th></tr><tr><td>April</td><td>2.0</td></tr></table></article></body></html>")

    def do_GET(self):  # noqa: N802 - the http.server hook name
        if self.path != "/notes.html":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_urls_convert_when_reachable_and_reject_otherwise():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        refused = f"http://127.0.0.1:{_closed_port()}/paper.pdf"
        rows = [{"source": f"{base}/notes.html"}, {"source": refused}, {"source": f"{base}/gone.html"}]
        result = run_operator(FileOrURLToMarkdownConverter(timeout_s=5), rows)
    finally:
        server.shutdown()
        server.server_close()
    assert len(result.kept) == 1
    markdown = result.kept[0]["markdown"]
    assert "Field notes" in markdown and "[river](" in markdown and "| April | 2.0 |" in markdown
    assert "network unreachable or connection refused" in result.reject_reasons[0]
    assert result.reject_reasons[1].endswith("HTTP 404")


def test_empty_batch_and_non_string_source():
    assert run_operator(FileOrURLToMarkdownConverter(), []).kept == []
    result = run_operator(FileOrURLToMarkdownConverter(), [{"source": None}, {"source": "  "}])
    assert "not a path or URL" in result.reject_reasons[0]
    assert "empty source" in result.reject_reasons[1]
