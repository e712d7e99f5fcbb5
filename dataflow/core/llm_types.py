"""The request and result of one LLM call: what an operator hands a serving and what it gets back.

They live in core so that operators (and :mod:`dataflow.core.llm_operator`) can talk to any serving
without importing :mod:`dataflow.serving`; the servings import them from here (and re-export them from
``dataflow.serving.base`` for existing callers). A serving is any object with
``generate(requests: list[LLMRequest]) -> list[LLMResult]``, results in request order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class LLMRequest:
    """One chat completion to run: ``messages`` (chat format) or a plain ``prompt``."""

    messages: list[dict] | None = None
    prompt: str | None = None
    system: str | None = None
    json_schema: Any = None  # a JSON-schema dict or a pydantic model class
    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] | None = None

    def chat_messages(self) -> list[dict]:
        """The full message list sent to the model (system message first when given)."""
        if self.messages is not None:
            messages = [dict(m) for m in self.messages]
        elif self.prompt is not None:
            messages = [{"role": "user", "content": self.prompt}]
        else:
            raise ValueError("LLMRequest needs either messages or prompt")
        if self.system is not None:
            if messages and messages[0].get("role") == "system":
                messages[0] = {"role": "system", "content": self.system}
            else:
                messages.insert(0, {"role": "system", "content": self.system})
        return messages


@dataclass
class LLMResult:
    """The outcome of one request; ``error`` is set (never a silent ``None`` text) on failure."""

    text: str | None = None
    parsed: Any = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None
    reasoning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
