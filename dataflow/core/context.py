"""What an operator sees while it processes a batch, besides the batch itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dataflow.core.bindings import Bindings
from dataflow.core.resources import ResourcePool, resource_kind

logger = logging.getLogger("dataflow")


class ChunkMemo:
    """Per-chunk memo shared by the consecutive steps of a segment.

    Operators use it to compute derived data once per row rather than once per operator (e.g. word and
    line statistics of a text column read by twenty filters). Entries are keyed by the column they were
    derived from and are dropped as soon as a step writes that column.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Any] = {}

    def get(self, column: str, key: str, compute: Callable[[], Any]) -> Any:
        entry = (column, key)
        if entry not in self._entries:
            self._entries[entry] = compute()
        return self._entries[entry]

    def invalidate(self, columns: list[str] | None = None, *, rows_changed: bool = False) -> None:
        if rows_changed:  # positions no longer line up with the memoised arrays
            self._entries.clear()
            return
        for entry in [e for e in self._entries if e[0] in (columns or ())]:
            del self._entries[entry]

    def filter_rows(self, mask) -> None:
        """Keep memoised per-row arrays aligned after a filter dropped rows."""
        import numpy as np

        for entry, value in list(self._entries.items()):
            if hasattr(value, "filter_rows"):
                self._entries[entry] = value.filter_rows(mask)
            elif isinstance(value, np.ndarray) and value.ndim >= 1:
                self._entries[entry] = value[mask]
            else:
                del self._entries[entry]


class StepContext:
    """Context of one step on one chunk: resolved column bindings, the chunk memo and the resources.

    ``ctx.resource("llm")`` (or ``ctx.serving``) is the operator's own instance when it was built with
    one (``llm_serving=...``), else the pipeline's, built on first use in this process and kept for the
    following chunks.
    """

    def __init__(self, *, step_index: int, op_name: str, cols: Bindings, memo: ChunkMemo | None = None,
                 chunk_index: int = 0, op: Any = None, resources: ResourcePool | dict[str, Any] | None = None
                 ) -> None:
        self.step_index = step_index
        self.op_name = op_name
        self.cols = cols
        self.memo = memo or ChunkMemo()
        self.chunk_index = chunk_index
        self._op = op
        if not isinstance(resources, ResourcePool):
            resources = ResourcePool(borrowed=dict(resources or {}))
        self._resources = resources
        self.log = logger

    def resource(self, kind: str) -> Any:
        param = resource_kind(kind).param
        own = getattr(self._op, param, None) if param else None
        return own if own is not None else self._resources.get(kind)

    @property
    def serving(self) -> Any:
        """The LLM serving of this step."""
        return self.resource("llm")

    @property
    def embedder(self) -> Any:
        return self.resource("embedder")
