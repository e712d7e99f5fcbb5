"""The UI server's API and its safety: loopback by default, a token elsewhere, nothing outside the project."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from dataflow.ui.server import make_server

SPEC = {"name": "p", "input": "data.jsonl", "output": "out.jsonl", "chunk_size": 5,
        "steps": [{"op": "RemoveExtraSpacesRefiner", "run": {"input_key": "text"}},
                  {"op": "WordNumberFilter", "params": {"min_words": 20}, "run": {"input_key": "text"}},
                  {"op": "UniqueWordsFilter", "run": {"input_key": "text"}}]}


def get(base: str, path: str, headers: dict | None = None) -> tuple[int, dict | str]:
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, body, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, body, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, json.loads(body) if "json" in ctype else body.decode()


def post(base: str, path: str, payload: dict, ctype: str = "application/json") -> tuple[int, dict]:
    req = urllib.request.Request(base + path, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_listens_on_loopback_only_by_default(project):
    server = make_server(project, port=0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and server.app.token is None
        # Not reachable through another address of this machine.
        others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        for addr in others:
            with pytest.raises(OSError):
                socket.create_connection((addr, port), timeout=2).close()
    finally:
        server.server_close()


def test_the_cli_default_is_loopback():
    from dataflow.cli.main import build_parser

    args = build_parser().parse_args(["ui"])
    assert args.host == "127.0.0.1" and args.token is None


def test_another_address_requires_a_token(project):
    server = make_server(project, host="0.0.0.0", port=0)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        token = server.app.token
        assert token and len(token) >= 16
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert get(base, "/api/files")[0] == 401
        assert get(base, "/report?cache=.dataflow/x")[0] == 401
        assert get(base, "/app.js")[0] == 200  # the page's own files carry no data
        assert get(base, "/api/files", {"X-Dataflow-Token": "wrong"})[0] == 401
        assert get(base, f"/api/files?token={token}")[0] == 200
        assert get(base, "/api/files", {"X-Dataflow-Token": token})[0] == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "data/../../outside.yaml",
                                  "..%2F..%2Fetc%2Fpasswd"])
def test_paths_outside_the_project_are_refused(ui_server, path):
    base, _ = ui_server
    status, body = get(base, f"/api/file?path={quote(path)}")
    assert status in (403, 404) and "root:" not in str(body)
    if "%" not in path:
        assert status == 403 and "outside the project directory" in body["error"]
    status, body = get(base, f"/api/spec?path={quote(path)}")
    assert status in (403, 404)
    status, body = post(base, "/api/spec", {"path": path, "spec": SPEC})
    assert status in (400, 403)


def test_a_spec_naming_files_outside_the_project_is_refused(ui_server, project):
    base, _ = ui_server
    for key, value in (("input", "../../etc/passwd"), ("output", "/tmp/elsewhere.jsonl"), ("cache_dir", "../c")):
        status, body = post(base, "/api/run", {"path": "pipeline.yaml", "spec": {**SPEC, key: value}})
        assert status == 403 and "outside the project directory" in body["error"]
    step = {"op": "SQLDialectTranspiler", "params": {"db_root": "../../var"}}
    status, body = post(base, "/api/run", {"path": "pipeline.yaml", "spec": {**SPEC, "steps": [step]}})
    assert status == 403 and "step 1 db_root" in body["error"]
    assert not (project / "pipeline.yaml").exists()


def test_a_foreign_host_header_and_form_posts_are_refused(ui_server):
    base, _ = ui_server
    assert get(base, "/api/files", {"Host": "evil.example:80"})[0] == 403  # DNS rebinding
    status, _ = post(base, "/api/spec", {"path": "x.yaml", "spec": SPEC}, ctype="application/x-www-form-urlencoded")
    assert status == 415


def test_compile_reports_problems_at_their_step(ui_server):
    base, _ = ui_server
    bad = json.loads(json.dumps(SPEC))
    bad["steps"][1]["run"]["input_key"] = "content"
    status, body = post(base, "/api/compile", {"path": "pipeline.yaml", "spec": bad})
    assert status == 200 and not body["ok"]
    errors = [p for p in body["problems"] if p["level"] == "error"]
    assert [p["step"] for p in errors] == [2] and "content" in errors[0]["message"]
    status, body = post(base, "/api/compile", {"path": "pipeline.yaml", "spec": SPEC})
    assert body["ok"] and body["steps"][1]["outputs"] == ["word_count"]


def wait_for(base: str, states: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = get(base, "/api/run")[1]
        if st["state"] in states:
            return st
        time.sleep(0.2)
    raise AssertionError(f"run still {st['state']} after {timeout}s")


def test_run_progress_report_and_row_lookup(ui_server, project):
    base, _ = ui_server
    status, body = post(base, "/api/run", {"path": "pipeline.yaml", "spec": SPEC})
    assert status == 200 and body["started"]
    st = wait_for(base, ("completed", "failed"))
    assert st["state"] == "completed", st.get("error")
    assert st["chunks"] == 5 and all(s["done"] == 5 for s in st["steps"])
    cache = st["cache_dir"]
    status, html = get(base, f"/report?cache={quote(cache)}")
    assert status == 200 and '<section id="funnel">' in html
    dropped = get(base, f"/api/dropped?cache={quote(cache)}&step=2")[1]
    assert dropped and all(d["step"] == 2 for d in dropped)
    text = get(base, f"/api/row?cache={quote(cache)}&row={dropped[0]['row_id']}")[1]["text"]
    assert "dropped at step 2 (WordNumberFilter)" in text
    assert (project / "pipeline.yaml").exists()


def test_a_failed_run_shows_its_error(ui_server, project):
    base, _ = ui_server
    (project / "bad.jsonl").write_text('{"text": "fine words here"}\n{"text": 5}\n')
    spec = {**SPEC, "input": "bad.jsonl"}
    status, body = post(base, "/api/run", {"path": "pipeline.yaml", "spec": spec})
    assert body["started"]
    st = wait_for(base, ("completed", "failed"))
    assert st["state"] == "failed" and "bad input" in st["error"] and "line 2" in st["error"]


def test_the_agent_answer_is_kept_in_the_session(project):
    from types import SimpleNamespace

    calls = []

    def fake_agent(request, source, spec_out):
        calls.append((request, source, spec_out))
        return SimpleNamespace(ok=True, message="3 steps", report="dry run: ok", spec=SPEC)

    server = make_server(project, port=0, agent=fake_agent)
    try:
        answer = server.app.ask_agent("keep long texts", "data.jsonl", "agent.pipeline.yaml")
        assert answer["ok"] and answer["spec"] == SPEC and calls[0][1] == project.resolve() / "data.jsonl"
        again = make_server(project, port=0)  # a restarted server still has it
        assert again.app.session()["request"] == "keep long texts"
        again.server_close()
    finally:
        server.server_close()


def test_errors_are_json_never_blank(ui_server):
    base, _ = ui_server
    status, body = get(base, "/api/spec?path=missing.yaml")
    assert status == 404 and body["error"]
    status, body = get(base, "/nothing")
    assert status == 404 and body["error"]
    conn = http.client.HTTPConnection(base.split("//")[1])
    conn.request("POST", "/api/compile", body=b"{not json", headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 400 and "not JSON" in json.loads(resp.read())["error"]


SLOW_OP = '''
import time
from dataflow.core.operator import Generator, OutputColumn


class Slow(Generator):
    """Test operator: a fifth of a second per chunk, so a run can be stopped midway."""

    output_key = OutputColumn("slow")

    def generate(self, batch, ctx):
        time.sleep(0.2)
        return {ctx.cols.output_key: [1] * len(batch)}
'''


def test_stop_a_run_and_resume_it(ui_server, project):
    base, _ = ui_server
    (project / "slow_op.py").write_text(SLOW_OP)
    spec = {"input": "data.jsonl", "chunk_size": 1, "workers": 1, "steps": [{"op": "slow_op.py:Slow"}]}
    assert post(base, "/api/run", {"path": "slow.yaml", "spec": spec})[1]["started"]
    deadline = time.time() + 60
    while time.time() < deadline:
        st = get(base, "/api/run")[1]
        if st["steps"] and st["steps"][0]["done"] >= 3:
            break
        time.sleep(0.1)
    st = post(base, "/api/run/stop", {})[1]
    assert st["state"] == "stopped" and 3 <= st["steps"][0]["done"] < 25
    done_before = st["steps"][0]["done"]
    assert post(base, "/api/run", {"path": "slow.yaml", "spec": spec, "resume": True})[1]["started"]
    st = wait_for(base, ("completed", "failed"))
    assert st["state"] == "completed", st.get("error")
    assert st["steps"][0]["done"] == 25
    summary = json.loads((project / ".dataflow" / "slow" / "run.json").read_text())
    assert summary["resumed_chunks"] >= done_before and summary["totals"]["rows_out"] == 25


def test_rejects_ops_columns_and_spec_round_trip(ui_server, project):
    base, _ = ui_server
    ops = get(base, "/api/ops")[1]
    assert any(op["name"] == "WordNumberFilter" and "min_words" in op["params"]["properties"] for op in ops)
    assert get(base, "/api/columns?path=data.jsonl")[1] == ["id", "source", "text"]
    assert post(base, "/api/spec", {"path": "specs/p.yaml", "spec": SPEC})[1] == {"saved": "specs/p.yaml"}
    assert get(base, "/api/spec?path=specs/p.yaml")[1] == SPEC
    assert "specs/p.yaml" in get(base, "/api/files")[1]["files"]
    (project / "bad.jsonl").write_text('{"text": "fine words here"}\n{"text": 5}\n')
    spec = {**SPEC, "input": "bad.jsonl", "on_bad_input": "skip"}
    assert post(base, "/api/run", {"path": "skip.yaml", "spec": spec})[1]["started"]
    st = wait_for(base, ("completed", "failed"))
    assert st["state"] == "completed", st.get("error")
    rejects = get(base, f"/api/rejects?cache={quote(st['cache_dir'])}")[1]
    assert len(rejects) == 1 and rejects[0]["line"] == 2


def test_dataflow_ui_command_serves_on_loopback_and_stops_on_sigterm(project):
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "dataflow.cli.main", "ui", "--port", "0"], cwd=project,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("dataflow ui: http://127.0.0.1:"), line
        base = line.split(": ", 1)[1].strip().rstrip("/")
        assert get(base, "/api/files")[1]["root"] == str(project.resolve())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
