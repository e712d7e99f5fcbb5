"""What an operator sees while it processes a batch, besides the batch itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dataflow.core.operator import Bindings

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
    """Context of one step on one chunk: resolved column bindings, the LLM serving and the chunk memo."""

    def __init__(self, *, step_index: int, op_name: str, cols: Bindings, memo: ChunkMemo | None = None,
                 serving_factory: Callable[[], Any] | None = None, embedder_factory: Callable[[], Any] | None
                 = None, chunk_index: int = 0, op: Any = None) -> None:
        self.step_index = step_index
        self.op_name = op_name
        self.cols = cols
        self.memo = memo or ChunkMemo()
        self.chunk_index = chunk_index
        self._serving_factory = serving_factory
        self._embedder_factory = embedder_factory
        self._op = op
        self.log = logger

    @property
    def serving(self) -> Any:
        """The LLM serving of this step: the operator's own ``llm_serving`` or the pipeline's."""
        own = getattr(self._op, "llm_serving", None)
        if own is not None:
            return own
        if self._serving_factory is None:
            from dataflow.serving import create_serving

            self._serving_factory = _once(create_serving)
        return self._serving_factory()

    @property
    def embedder(self) -> Any:
        own = getattr(self._op, "embedder", None)
        if own is not None:
            return own
        if self._embedder_factory is None:
            from dataflow.serving.embeddings import create_embedder

            self._embedder_factory = _once(create_embedder)
        return self._embedder_factory()


def _once(factory: Callable[[], Any]) -> Callable[[], Any]:
    made: list[Any] = []

    def get() -> Any:
        if not made:
            made.append(factory())
        return made[0]

    return get
