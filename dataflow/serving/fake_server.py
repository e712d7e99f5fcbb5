"""A small OpenAI-compatible ``/v1/chat/completions`` server for tests and benchmarks.

It runs in a background thread on 127.0.0.1 (random port), answers after a fixed ``latency_s``,
and can inject faults into a ``fault_rate`` share of requests: 429 with ``Retry-After``, 500, a
hang past the client's timeout, a body cut short (connection closed early), or a 200 whose body is
not JSON. ``script`` lets a test decide the reply to each request; every request body is logged.
The default reply echoes the last user message, so a client can check that each answer went
back to the request that asked for it.

    with FakeOpenAIServer(fault_rate=0.3) as server:
        llm = create_serving({"backend": "openai", "model": "fake", "base_url": server.base_url})
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("429", "500", "timeout", "truncated", "nonjson")


@dataclass
class Reply:
    """What the server sends for one request. ``fault`` overrides the rest."""

    status: int = 200
    content: str | None = None
    reasoning: str | None = None
    headers: dict = field(default_factory=dict)
    fault: str | None = None  # one of FAULT_KINDS, or None
    error_message: str = "error"


class FakeOpenAIServer:
    def __init__(
        self,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        faults: tuple[str, ...] = FAULT_KINDS,
        retry_after_s: float = 0.05,
        hang_s: float = 2.0,
        reject_json_schema: bool = False,
        script: Callable[[dict], Reply | None] | None = None,
        seed: int = 0,
    ) -> None:
        self.latency_s = latency_s
        self.fault_rate = fault_rate
        self.faults = faults
        self.retry_after_s = retry_after_s
        self.hang_s = hang_s
        self.reject_json_schema = reject_json_schema
        self.script = script
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.log: list[dict] = []  # every request body, in arrival order
        self.outcomes: Counter = Counter()  # "ok", fault kinds, "status:NNN"
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._http is not None, "server not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in separate writes

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "request body is not JSON"}})
                    return
                if self.path.rstrip("/").endswith("/embeddings"):
                    with server._lock:
                        server.log.append(body)
                    self._send(200, _embeddings(body))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                server._handle(self, body)

            def _send(self, status: int, payload: Any, headers: dict | None = None) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, str(value))
                self.end_headers()
                self.wfile.write(data)

        self._http = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request handling --------------------------------------------------------------------
    def _handle(self, handler: Any, body: dict) -> None:
        with self._lock:
            self.log.append(body)
            roll = self._random.random()
            kind = self._random.choice(self.faults) if self.faults else None
        reply = self.script(body) if self.script else None
        if reply is None:
            reply = Reply(content=default_content(body))
            if roll < self.fault_rate:
                reply.fault = kind
        response_format = body.get("response_format") or {}
        if self.reject_json_schema and response_format.get("type") == "json_schema" and reply.fault is None:
            reply = Reply(status=400, error_message="response_format type 'json_schema' is not supported; "
                                                    "use json_object with a schema")
        if self.latency_s:
            time.sleep(self.latency_s)
        self._record(reply)
        if reply.fault == "429":
            handler._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": self.retry_after_s})
        elif reply.fault == "500":
            handler._send(500, {"error": {"message": "internal error"}})
        elif reply.fault == "timeout":
            time.sleep(self.hang_s)
            handler.close_connection = True
        elif reply.fault == "truncated":
            data = json.dumps(_completion(body, reply)).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
        elif reply.fault == "nonjson":
            handler._send(200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        elif reply.status != 200:
            handler._send(reply.status, {"error": {"message": reply.error_message}}, reply.headers)
        else:
            handler._send(200, _completion(body, reply), reply.headers)

    def _record(self, reply: Reply) -> None:
        outcome = reply.fault or ("ok" if reply.status == 200 else f"status:{reply.status}")
        with self._lock:
            self.outcomes[outcome] += 1


class _Server(ThreadingHTTPServer):
    # The listen backlog is set when the socket opens: a burst of concurrent connections beyond the
    # default 5 would see SYNs dropped and retried a second later, which reads as server latency.
    request_queue_size = 256
    daemon_threads = True


def last_user_message(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content"))
    return ""


def default_content(body: dict) -> str:
    return f"echo: {last_user_message(body)}"


def _completion(body: dict, reply: Reply) -> dict:
    content = reply.content if reply.content is not None else default_content(body)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [])
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_words,
            "completion_tokens": len(content.split()),
            "total_tokens": prompt_words + len(content.split()),
        },
    }


def _embeddings(body: dict) -> dict:
    """Deterministic bag-of-words vectors (dimension 32): texts sharing words point alike."""
    import hashlib

    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    data = []
    for index, text in enumerate(texts):
        vector = [0.0] * 32
        for word in str(text).lower().split():
            bucket = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
            vector[bucket % 32] += 1.0 if bucket & 1 << 31 else -1.0
        data.append({"object": "embedding", "index": index, "embedding": vector})
    data.reverse()  # servers may answer out of order; clients must sort by index
    return {"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": 0}}


def main() -> None:
    """Run the server in its own process: prints ``base_url`` then serves until killed."""
    import argparse

    parser = argparse.ArgumentParser(description="fake OpenAI-compatible server")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAIServer(latency_s=args.latency, fault_rate=args.fault_rate).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
