"""The eager runner: operators applied at once to an in-memory frame, for notebooks and operator tests.

``op.run(DataFrameStorage(rows), input_key="text")`` runs the operator over all rows right away, through
the same row isolation as the engine (a row that makes the operator raise is rejected, not fatal).
Pipelines stream through the engine instead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.bindings import ROW_ID, Bindings
from dataflow.core.chunk_runner import run_isolated
from dataflow.core.context import StepContext
from dataflow.core.fileio import frame_to_records
from dataflow.core.operator import BatchResult, Operator
from dataflow.core.resources import ResourcePool


def apply_op_to_frame(op: Operator, bindings: dict[str, Any], frame: pd.DataFrame, *, serving: Any = None,
                      embedder: Any = None) -> BatchResult:
    """Run one operator over a whole in-memory frame (a dataset-level operator scans it as one chunk)."""
    if ROW_ID not in frame.columns:
        frame = frame.assign(**{ROW_ID: [str(i) for i in range(1, len(frame) + 1)]})
    cols = bindings if isinstance(bindings, Bindings) else Bindings(bindings)
    given = {kind: value for kind, value in (("llm", serving), ("embedder", embedder)) if value is not None}
    pool = ResourcePool(borrowed=given)  # builds a default for any other resource the step asks for
    ctx = StepContext(step_index=1, op_name=op.op_name(), cols=cols, op=op, resources=pool)
    label = op.op_name()
    try:
        if op.granularity == "dataset":
            decision = op.decide([op.scan(frame, ctx)])
            return run_isolated(lambda f: op.apply(f, decision, ctx), frame, label)
        return run_isolated(lambda f: op.process(f, ctx), frame, label)
    finally:
        pool.close()  # what it built (a default model, a sandbox); never what it was given


class DataFrameStorage:
    """Eager storage: ``op.run(DataFrameStorage(df), input_key=...)`` runs the operator at once.

    Handy in notebooks and operator tests; pipelines stream through the engine instead.
    ``.frame`` holds the current rows, ``.dropped`` the rows removed so far (with reasons) and
    ``.rejected`` the rows an operator could not process.
    """

    def __init__(self, frame: pd.DataFrame | list[dict[str, Any]], serving: Any = None):
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame.from_records(frame)
        frame = frame.reset_index(drop=True)
        if ROW_ID not in frame.columns:
            frame.insert(0, ROW_ID, [str(i) for i in range(1, len(frame) + 1)])
        self.frame = frame
        self.serving = serving
        self.dropped: list[pd.DataFrame] = []
        self.rejected: list[pd.DataFrame] = []
        self.metrics: dict[str, Any] = {}

    def step(self) -> DataFrameStorage:
        return self

    def apply(self, op: Any, bindings: dict[str, Any]) -> DataFrameStorage:
        result = apply_op_to_frame(op, op.resolve_bindings(bindings), self.frame, serving=self.serving)
        self.frame = result.frame.reset_index(drop=True)
        if result.dropped is not None and len(result.dropped):
            self.dropped.append(result.dropped)
        if result.rejected is not None and len(result.rejected):
            self.rejected.append(result.rejected)
        if result.metrics:
            self.metrics[op.op_name()] = result.metrics
        return self

    def to_records(self) -> list[dict[str, Any]]:
        return frame_to_records(self.frame)
