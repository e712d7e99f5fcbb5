"""The DataFlow core (see docs/design.md)."""

from __future__ import annotations

from typing import Any, Protocol


class LLMServingABC(Protocol):
    """The reference DataFlow's name for an LLM serving, kept for the type hints of its scripts: anything
    with ``generate(requests) -> results`` (``dataflow.serving.LLMServing`` is the implementation)."""

    def generate(self, requests: list[Any]) -> list[Any]: ...
