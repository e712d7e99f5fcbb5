"""A UI server over a small project directory (the demo data), serving from a thread for one test."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

DEMO_DATA = Path(__file__).resolve().parents[2] / "examples" / "demo" / "data.jsonl"


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(DEMO_DATA, root / "data.jsonl")
    return root


@pytest.fixture
def ui_server(project):
    """(base URL, app) of a server on a free loopback port; any run it started is stopped afterwards."""
    from dataflow.ui.server import make_server

    server = make_server(project, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.app
    finally:
        server.app.stop_run()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
