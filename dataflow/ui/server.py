"""``dataflow ui``: a local web app over the library, served by the standard library's HTTP server.

The page (``static/``: plain HTML, JS and CSS, no build step, nothing fetched from elsewhere) talks to a
small JSON API:

==========================  =====================================================================
``GET  /api/ops``           every operator's metadata (what ``dataflow ops list --json`` prints)
``GET  /api/files``         specs and data files under the project directory
``GET  /api/spec?path=``    a spec file, parsed;  ``POST /api/spec`` {path, spec} writes it as YAML
``GET  /api/columns?path=`` the columns of an input file (binding suggestions)
``POST /api/compile``       {path, spec}: ok, or the problems, each with its step
``POST /api/run``           {path, spec, resume}: save the spec and run it in a child process
``GET  /api/run``           the run's state and per-step progress (read from its ``events.jsonl``)
``POST /api/run/stop``      stop it (chunks done so far stay cached: a resumed run starts from them)
``GET  /report?cache=``     the run's ``report.html`` (written when missing)
``GET  /api/row``           why a row was dropped, rejected or kept;  ``/api/dropped``, ``/api/rejects``
``POST /api/agent``         {request, input}: the agent's spec;  ``GET /api/session`` the last answer
==========================  =====================================================================

Safe by default: it listens on 127.0.0.1; bound to any other address it requires a token (sent as the
``X-Dataflow-Token`` header or ``?token=``) for everything but the static page. Every path the page
names, and every path a spec names (input, output, cache, prompts, the params an operator declares as
paths), must lie under the project directory the server started in; anything else is refused with 403. Requests to a loopback server must name a loopback host (no DNS rebinding), and
writes must be JSON (no cross-site form posts). A run's failure is shown with its error.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".yaml", ".yml")


class Refused(Exception):
    """A request the server will not serve: ``status`` says why (403 outside the project, 400 bad input)."""

    def __init__(self, message: str, status: int = HTTPStatus.FORBIDDEN) -> None:
        super().__init__(message)
        self.status = status


class RunState:
    """The one run the UI drives at a time: a child ``dataflow run`` process and its event log."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.spec_path: str | None = None
        self.cache_dir: Path | None = None
        self.events_offset = 0
        self.stopped = False
        self.err_path: Path | None = None
        self.started = 0.0


class UIApp:
    """What the HTTP handler calls; holds the project root, the token and the run."""

    def __init__(self, root: str | Path, *, token: str | None = None, agent: Any = None) -> None:
        self.root = Path(root).resolve()
        self.token = token
        self.agent = agent  # callable(request, input_path, spec_out) -> AgentResult; default: dataflow.agent
        self.run = RunState()
        self._ops: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self.state_dir = self.root / ".dataflow" / "ui"

    # ------------------------------------------------------------------ paths
    def path(self, value: Any, *, must_exist: bool = False) -> Path:
        """``value`` (relative to the project directory) resolved, refused unless it lies under it."""
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise Refused("a path is required", HTTPStatus.BAD_REQUEST)
        resolved = (self.root / value).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise Refused(f"{value}: outside the project directory {self.root}")
        if must_exist and not resolved.exists():
            raise Refused(f"{value}: not found", HTTPStatus.NOT_FOUND)
        return resolved

    def rel(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.root))

    # ------------------------------------------------------------------ operators and files
    def ops(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._ops is None:
                from dataflow.core.registry import OPERATORS, operator_metadata

                self._ops = [operator_metadata(cls) for cls in OPERATORS.all().values()]
            return self._ops

    def files(self) -> list[str]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
            for name in sorted(filenames):
                if name.endswith(DATA_SUFFIXES):
                    found.append(self.rel(Path(dirpath) / name))
            if len(found) > 500:
                break
        return found

    def columns(self, path: str) -> list[str]:
        from dataflow.core.fileio import peek_columns

        return peek_columns(self.path(path, must_exist=True))[0]

    # ------------------------------------------------------------------ specs
    def read_spec(self, path: str) -> dict[str, Any]:
        import yaml

        file = self.path(path, must_exist=True)
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise Refused(f"{path}: not a pipeline spec", HTTPStatus.BAD_REQUEST)
        return data

    def write_spec(self, path: str, spec: dict[str, Any]) -> Path:
        import yaml

        file = self.path(path)
        if file.suffix not in (".yaml", ".yml", ".json"):
            raise Refused(f"{path}: a spec is a .yaml or .json file", HTTPStatus.BAD_REQUEST)
        self.check_spec_paths(file, spec)
        file.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(spec, indent=2) if file.suffix == ".json" else yaml.safe_dump(spec, sort_keys=False,
                                                                                         allow_unicode=True)
        file.write_text(text, encoding="utf-8")
        return file

    def check_spec_paths(self, spec_file: Path, spec: dict[str, Any]) -> None:
        """The spec's own files (read from its folder, as the engine reads them) must be under the root."""
        named = [(key, spec.get(key)) for key in ("input", "output", "cache_dir", "prompts_dir")]
        for i, step in enumerate(spec.get("steps") or [], 1):  # params an operator declares as paths
            cls = _operator_class(step.get("op")) if isinstance(step, dict) else None
            params = step.get("params") or {} if isinstance(step, dict) else {}
            named += [(f"step {i} {key}", params.get(key)) for key in getattr(cls, "path_params", ())]
        for key, value in named:
            if isinstance(value, str) and value and "://" not in value:
                target = (spec_file.parent / Path(value).expanduser()).resolve()
                if target != self.root and self.root not in target.parents:
                    raise Refused(f"{key}: {value}: outside the project directory {self.root}")

    def pipeline(self, path: str, spec: dict[str, Any]):
        """The spec as a pipeline, read from the folder of ``path`` (raises CompileError on a bad spec)."""
        import pydantic

        from dataflow.core.errors import CompileError, Problem
        from dataflow.core.pipeline import PipelineSpec, SpecPipeline

        file = self.path(path)
        self.check_spec_paths(file, spec)
        try:
            parsed = PipelineSpec.model_validate(spec)
        except pydantic.ValidationError as exc:
            raise CompileError([Problem(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
                                        step=_step_of(e["loc"])) for e in exc.errors()]) from None
        return SpecPipeline(parsed, file.parent, str(file))

    def compile(self, path: str, spec: dict[str, Any]) -> dict[str, Any]:
        from dataflow.core.errors import CompileError

        try:
            plan = self.pipeline(path, spec).compile()
        except CompileError as exc:
            return {"ok": False, "problems": [_problem(p) for p in exc.problems]}
        return {"ok": True, "problems": [_problem(p) for p in plan.problems],
                "steps": [{"index": s.index, "op": s.name, "bindings": dict(s.bindings),
                           "outputs": list(s.op.output_columns(s.bindings))} for s in plan.steps]}

    # ------------------------------------------------------------------ runs
    def start_run(self, path: str, spec: dict[str, Any], *, resume: bool = False) -> dict[str, Any]:
        run = self.run
        if run.proc is not None and run.proc.poll() is None:
            raise Refused("a run is in progress: stop it first", HTTPStatus.CONFLICT)
        checked = self.compile(path, spec)
        if not checked["ok"]:
            return {"started": False, **checked}
        file = self.write_spec(path, spec)
        pipe = self.pipeline(path, spec)
        cache_dir = Path(pipe.cache_dir) if pipe.cache_dir else pipe.default_cache_dir()
        events = cache_dir / "events.jsonl"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        err = self.state_dir / "run.stderr"
        cmd = [sys.executable, "-m", "dataflow.cli.main", "run", str(file), "--no-progress", "--json"]
        if resume:
            cmd.append("--resume")
        with open(err, "wb") as err_fh:
            proc = subprocess.Popen(cmd, cwd=self.root, stdout=subprocess.DEVNULL, stderr=err_fh,
                                    start_new_session=True)
        run.proc, run.spec_path, run.cache_dir, run.stopped, run.err_path = proc, self.rel(file), cache_dir, False, err
        run.events_offset = events.stat().st_size if events.exists() else 0
        run.started = time.time()
        return {"started": True, **checked}

    def stop_run(self) -> dict[str, Any]:
        proc = self.run.proc
        if proc is None or proc.poll() is not None:
            return self.run_status()
        self.run.stopped = True
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return self.run_status()

    def run_status(self) -> dict[str, Any]:
        from dataflow.core.cache import follow_events

        run = self.run
        if run.proc is None:
            return {"state": "idle"}
        code = run.proc.poll()
        events, _ = follow_events(run.cache_dir / "events.jsonl", start=run.events_offset)
        steps: dict[int, dict[str, Any]] = {}
        chunks = None
        for e in events:
            if e["event"] == "run_started":
                steps = {s["index"]: {"index": s["index"], "op": s["op"], "done": 0} for s in e["steps"]}
            elif e["event"] == "ingested":
                chunks = e["chunks"]
            elif e["event"] == "segment_started":  # the first segment's chunks may finish steps before it
                for i in e["steps"]:
                    if i in steps:
                        steps[i]["done"] += e["cached"]
            elif e["event"] == "step_done" and e["step"] in steps:
                steps[e["step"]]["done"] += 1
        completed = any(e["event"] == "run_completed" for e in events)
        if code is None:
            state = "running"
        elif run.stopped:
            state = "stopped"
        elif code == 0 and completed:
            state = "completed"
        else:
            state = "failed"
        out: dict[str, Any] = {"state": state, "spec": run.spec_path, "cache_dir": self.rel(run.cache_dir),
                               "chunks": chunks, "steps": list(steps.values()),
                               "seconds": round(time.time() - run.started, 1)}
        if state == "failed":
            text = run.err_path.read_text(encoding="utf-8", errors="replace") if run.err_path else ""
            out["error"] = text.strip()[-4000:] or f"the run exited with code {code}"
        return out

    # ------------------------------------------------------------------ results
    def report(self, cache: str) -> bytes:
        from dataflow.report import write_report

        cache_dir = self.path(cache, must_exist=True)
        path = cache_dir / "report.html"
        if not path.exists():
            write_report(cache_dir)
        return path.read_bytes()

    def inspector(self, cache: str):
        from dataflow.core.run_inspector import RunInspector

        try:
            return RunInspector(self.path(cache, must_exist=True))
        except FileNotFoundError as exc:
            raise Refused(str(exc), HTTPStatus.NOT_FOUND) from None

    # ------------------------------------------------------------------ agent
    def ask_agent(self, request: str, input_path: str, spec_path: str) -> dict[str, Any]:
        source = self.path(input_path, must_exist=True)
        out = self.path(spec_path)
        if self.agent is None:
            from dataflow.agent.planner import build_pipeline

            result = build_pipeline(request, source, spec_out=out)
        else:
            result = self.agent(request, source, out)
        answer = {"request": request, "input": input_path, "path": spec_path, "ok": bool(result.ok),
                  "message": result.message, "report": getattr(result, "report", ""),
                  "spec": result.spec, "t": time.time()}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "session.json").write_text(json.dumps(answer, default=str), encoding="utf-8")
        return answer

    def session(self) -> dict[str, Any]:
        path = self.state_dir / "session.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _operator_class(name: Any) -> Any:
    from dataflow.core.registry import OPERATORS

    if not isinstance(name, str) or ":" in name:
        return None
    try:
        return OPERATORS.get(name)
    except KeyError:
        return None


def _problem(p: Any) -> dict[str, Any]:
    return {"message": p.message, "step": p.step, "op": p.op, "level": p.level}


def _step_of(loc: tuple) -> int | None:
    """The 1-based step of a spec validation error at ("steps", i, ...)."""
    return loc[1] + 1 if len(loc) > 1 and loc[0] == "steps" and isinstance(loc[1], int) else None


# ============================================================================ HTTP
class Handler(BaseHTTPRequestHandler):
    app: UIApp
    server_version = "dataflow-ui"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: Any, status: int = 200) -> None:
        self._send(status, json.dumps(payload, default=str).encode(), "application/json")

    def _body(self) -> dict[str, Any]:
        if "application/json" not in self.headers.get("Content-Type", ""):
            raise Refused("requests that change something must be JSON", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise Refused(f"the request body is not JSON: {exc}", HTTPStatus.BAD_REQUEST) from None
        if not isinstance(data, dict):
            raise Refused("expected a JSON object", HTTPStatus.BAD_REQUEST)
        return data

    def _allowed(self, path: str, query: dict[str, str]) -> None:
        app = self.app
        static = path == "/" or path.lstrip("/") in STATIC_TYPES  # the page itself holds no data
        if app.token is not None and not static:
            given = self.headers.get("X-Dataflow-Token") or query.get("token", "")
            if not secrets.compare_digest(given, app.token):
                raise Refused("a valid token is required (the URL printed at start-up carries it)",
                              HTTPStatus.UNAUTHORIZED)
        elif (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]") not in LOOPBACK:
            raise Refused("this server answers only to localhost")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            self._allowed(url.path, query)
            self._route(method, url.path, query)
        except Refused as exc:
            self._json({"error": str(exc)}, exc.status)
        except Exception as exc:  # noqa: BLE001 - the page shows every failure, never a blank screen
            self._json({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=5)},
                       HTTPStatus.INTERNAL_SERVER_ERROR)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    # ------------------------------------------------------------------ routes
    def _route(self, method: str, path: str, q: dict[str, str]) -> None:
        app = self.app
        if method == "GET":
            name = "index.html" if path == "/" else path.lstrip("/")
            if name in STATIC_TYPES:
                return self._send(200, (STATIC / name).read_bytes(), STATIC_TYPES[name])
            if path == "/api/ops":
                return self._json(app.ops())
            if path == "/api/files":
                return self._json({"root": str(app.root), "files": app.files()})
            if path == "/api/spec":
                return self._json(app.read_spec(q.get("path", "")))
            if path == "/api/columns":
                return self._json(app.columns(q.get("path", "")))
            if path == "/api/run":
                return self._json(app.run_status())
            if path == "/report":
                return self._send(200, app.report(q.get("cache", "")), "text/html")
            if path == "/api/row":
                return self._json({"text": app.inspector(q.get("cache", "")).explain_row(q.get("row", ""))})
            if path in ("/api/dropped", "/api/rejects"):
                insp = app.inspector(q.get("cache", ""))
                step = int(q["step"]) if q.get("step") else None
                fn = insp.dropped if path == "/api/dropped" else insp.rejects
                return self._json(list(fn(step=step, limit=int(q.get("limit", 50)))))
            if path == "/api/session":
                return self._json(app.session())
            if path == "/api/file":
                return self._send(200, app.path(q.get("path", ""), must_exist=True).read_bytes(), "text/plain")
        elif method == "POST":
            body = self._body()
            if path == "/api/spec":
                file = app.write_spec(body.get("path", ""), body.get("spec") or {})
                return self._json({"saved": app.rel(file)})
            if path == "/api/compile":
                return self._json(app.compile(body.get("path", ""), body.get("spec") or {}))
            if path == "/api/run":
                return self._json(app.start_run(body.get("path", ""), body.get("spec") or {},
                                                 resume=bool(body.get("resume"))))
            if path == "/api/run/stop":
                return self._json(app.stop_run())
            if path == "/api/agent":
                return self._json(app.ask_agent(str(body.get("request", "")), body.get("input", ""),
                                                body.get("path", "agent.pipeline.yaml")))
        raise Refused(f"no such page: {method} {path}", HTTPStatus.NOT_FOUND)


def make_server(root: str | Path = ".", *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                agent: Any = None) -> ThreadingHTTPServer:
    """The server, bound but not yet serving (``port=0``: any free port). Bound to a non-loopback
    address it always has a token (a random one when none is given)."""
    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(18)
    app = UIApp(root, token=token, agent=agent)
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.app = app  # type: ignore[attr-defined]
    return server


def serve(root: str | Path = ".", *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> int:
    server = make_server(root, host=host, port=port, token=token)
    app = server.app  # type: ignore[attr-defined]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_address[1]}/" + (f"?token={app.token}" if app.token else "")
    print(f"dataflow ui: {url}\nproject directory: {app.root}\n(ctrl-c to stop)", flush=True)

    def interrupt(signum: int, frame: Any) -> None:  # SIGTERM as ctrl-c: a run the UI started stops too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.stop_run()
        server.server_close()
    return 0
