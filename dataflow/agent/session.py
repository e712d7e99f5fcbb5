"""The record of an agent session: every prompt, answer and decision, as JSON lines beside the spec.

A :class:`SessionLog` appends one event per line to ``<spec stem>.agent.jsonl`` next to the spec it is
for (:func:`session_path`), flushed as it goes, so a session that dies midway keeps what it did. Each
event has ``seq`` (1, 2, ...), ``t`` (seconds since the session started), ``kind`` and its data:

* ``start``: the request, the input, the settings;
* ``prompt``: the chat messages and the JSON schema sent to the model (``call`` numbers the calls);
* ``answer``: the model's text (or error) for that call;
* ``decision``: what the agent concluded (the shortlist, a compile or dry-run verdict, a repair, the
  final spec), with a short ``what`` and free data;
* ``end``: the outcome.

A session is replayable: :class:`ReplayServing` answers a new session's model calls with the recorded
answers, in order, so ``build_pipeline(..., serving=ReplayServing.from_log(path))`` repeats the
recorded session without a model and must reach the same decisions (it refuses a call whose messages
differ from the recorded prompt, unless ``strict=False``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def session_path(spec_path: str | os.PathLike) -> Path:
    """``pipeline.yaml`` -> ``pipeline.agent.jsonl`` in the same folder."""
    spec = Path(spec_path)
    return spec.with_name(f"{spec.stem}.agent.jsonl")


class SessionLog:
    """Append-only record of one session (see the module docstring). ``path=None`` keeps it in memory."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._calls = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")  # a new session replaces an older record

    def record(self, kind: str, **data: Any) -> dict[str, Any]:
        event = {"seq": len(self.events) + 1, "t": round(time.monotonic() - self._started, 3), "kind": kind, **data}
        event = json.loads(json.dumps(event, ensure_ascii=False, default=str))  # what is written is what is kept
        self.events.append(event)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        return event

    def prompt(self, messages: list[dict[str, Any]], schema: Any = None, **data: Any) -> int:
        """Record a model call's prompt; returns its call number for :meth:`answer`."""
        self._calls += 1
        self.record("prompt", call=self._calls, messages=messages, schema=schema, **data)
        return self._calls

    def answer(self, call: int, text: str | None, error: str | None = None, **data: Any) -> None:
        self.record("answer", call=call, text=text, error=error, **data)

    def decision(self, what: str, **data: Any) -> None:
        self.record("decision", what=what, **data)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]

    @classmethod
    def load(cls, path: str | os.PathLike) -> list[dict[str, Any]]:
        """The events of a recorded session, in order."""
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


class ReplayServing:
    """A serving that answers with a recorded session's answers, call by call (see the module docstring).

    Speaks the serving protocol (``generate(requests) -> results``); a call beyond the record, or one
    whose messages differ from the recorded prompt (when ``strict``), gets an error result."""

    backend = "replay"

    def __init__(self, events: list[dict[str, Any]], *, strict: bool = True) -> None:
        prompts = {e["call"]: e for e in events if e["kind"] == "prompt"}
        answers = {e["call"]: e for e in events if e["kind"] == "answer"}
        self.turns = [(prompts[c], answers.get(c)) for c in sorted(prompts)]
        self.strict = strict
        self.position = 0
        self.fingerprint = "replay"

    @classmethod
    def from_log(cls, path: str | os.PathLike, *, strict: bool = True) -> ReplayServing:
        return cls(SessionLog.load(path), strict=strict)

    def generate(self, requests: list[Any]) -> list[Any]:
        from dataflow.core.llm_types import LLMResult

        results = []
        for request in requests:
            if self.position >= len(self.turns):
                results.append(LLMResult(error="replay: the recorded session has no more answers"))
                continue
            prompt, answer = self.turns[self.position]
            self.position += 1
            if self.strict and _plain(request.chat_messages()) != _plain(prompt["messages"]):
                results.append(LLMResult(error=f"replay: call {prompt['call']} differs from the recorded prompt"))
            elif answer is None or answer.get("error"):
                results.append(LLMResult(error=(answer or {}).get("error") or "replay: no recorded answer"))
            else:
                text = answer["text"]
                try:
                    parsed = json.loads(text) if request.json_schema is not None else None
                except ValueError:
                    parsed = None
                results.append(LLMResult(text=text, parsed=parsed))
        return results


def _plain(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(messages, ensure_ascii=False, default=str))
