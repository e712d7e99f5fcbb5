"""A deterministic LLM backend for operator tests: rule-based answers through the real serving base.

It subclasses ``LLMServing``, so requests go through the same path as a real backend (message
building, JSON-schema validation with repair, statistics); only the completion text comes from a
Python function of the call instead of a model. Tests use it to pin down how an operator turns model
output into kept, dropped and rejected rows; the real model is exercised by the ``llm`` tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from dataflow.serving.base import Call, LLMServing, RawCompletion


class ScriptedServing(LLMServing):
    backend = "scripted"

    def __init__(self, respond: Callable[[Call], str | None]) -> None:
        super().__init__(model="scripted")
        self.respond = respond
        self.calls: list[Call] = []

    def _complete_batch(self, calls: list[Call]) -> list[RawCompletion]:
        out = []
        for call in calls:
            self.calls.append(call)
            text = self.respond(call)
            out.append(RawCompletion(error="scripted failure") if text is None else
                       RawCompletion(text=text, tokens_in=10, tokens_out=len(text.split())))
        return out


def user_text(call: Call) -> str:
    return next(m["content"] for m in call.messages if m["role"] == "user")


def problem_of(call: Call) -> str:
    """The problem text our templates put after "Problem:" (or the whole prompt)."""
    text = user_text(call)
    match = re.search(r"Problem:\s*\n(.*?)(?:\n\n|$)", text, re.S)
    return (match.group(1) if match else text).strip()


def arithmetic_answer(problem: str) -> str | None:
    """'What is 12 * 3 + 1?' -> '37' (the expression between 'is' and '?')."""
    match = re.search(r"is ([\d\s+\-*/().]+)\?", problem)
    if not match:
        return None
    value = eval(match.group(1), {"__builtins__": {}})  # digits and operators only (regex above)
    return str(int(value)) if float(value).is_integer() else str(value)


def as_json(**fields: object) -> str:
    return json.dumps(fields)


def dropped_rows(storage) -> list[dict]:
    """All rows a DataFrameStorage's operators dropped, as records (with ``_drop_reason``)."""
    import pandas as pd

    return pd.concat(storage.dropped).to_dict("records") if storage.dropped else []


def rejected_rows(storage) -> list[dict]:
    import pandas as pd

    return pd.concat(storage.rejected).to_dict("records") if storage.rejected else []
