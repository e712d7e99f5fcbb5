"""Shared plumbing of the dedup operators: scan signatures per chunk, cluster once, drop per chunk.

Every dedup operator is a :class:`~dataflow.core.operator.DatasetOperator`:

* ``scan`` turns one chunk into a compact :class:`ScanState` (the chunk's row ids and its signatures,
  e.g. uint32 MinHash values), so the barrier holds signatures, never rows;
* ``decide`` concatenates the states in input order, lets the subclass find duplicate clusters over
  the whole dataset and records, for every row of a non-trivial cluster, the row id of the cluster's
  representative (its first row in input order);
* ``apply`` writes that representative's row id to the cluster column (every row gets one: a unique
  row is its own representative) and drops duplicates with a categorical reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from dataflow.core.errors import ParamsError
from dataflow.core.operator import ROW_ID, BatchResult, DatasetOperator, InputColumn, split_dropped

Mode = Literal["keep_one", "drop_all"]


@dataclass
class ScanState:
    """What ``scan`` keeps of one chunk: its row ids (fixed-width numpy strings) and its signatures."""

    row_ids: np.ndarray
    signatures: Any


@dataclass
class Clusters:
    """The subclass's verdict on the whole dataset (indices are positions in input order).

    ``cluster[i]`` is the index of row i's representative (``i`` itself for unique rows); ``metrics``
    lands in run.json (e.g. candidate and linked pair counts).
    """

    cluster: np.ndarray
    metrics: dict[str, Any]


def texts_of(batch: pd.DataFrame, column: str) -> list[str]:
    """The column as a list of strings; missing values become "" (they are empty documents)."""
    return [v if isinstance(v, str) else ("" if v is None or v != v else str(v))
            for v in batch[column].tolist()]


class ClusterDedup(DatasetOperator):
    """Base of the dedup operators; subclasses implement :meth:`signatures` and :meth:`clusters`."""

    kind = "dedup"
    input_key = InputColumn("text", "str", nullable=True)
    #: Categorical drop reason (counted in run.json); the representative is in the cluster column.
    reason: ClassVar[str] = "duplicate"

    def __init__(self, mode: Mode = "keep_one") -> None:
        super().__init__()
        if mode not in ("keep_one", "drop_all"):
            raise ParamsError(f"{self.op_name()}: mode must be 'keep_one' or 'drop_all', not {mode!r}")
        self.mode = mode

    # ------------------------------------------------------------------ subclass hooks
    def signatures(self, texts: list[str], ctx: Any) -> Any:
        """Compact signatures of one chunk's texts (numpy arrays, aligned with ``texts``)."""
        raise NotImplementedError

    def clusters(self, signatures: list[Any], n: int) -> Clusters:
        """Cluster the ``n`` rows of the whole dataset from every chunk's signatures (in order)."""
        raise NotImplementedError

    @property
    def drop_reason(self) -> str:
        return self.reason

    # ------------------------------------------------------------------ DatasetOperator
    def scan(self, batch: pd.DataFrame, ctx: Any) -> ScanState:
        row_ids = np.asarray(batch[ROW_ID].to_numpy(), dtype=str)
        return ScanState(row_ids, self.signatures(texts_of(batch, ctx.cols.input_key), ctx))

    def decide(self, states: list[ScanState]) -> dict[str, Any]:
        row_ids = (np.concatenate([s.row_ids for s in states]) if states else np.zeros(0, dtype=str))
        n = len(row_ids)
        found = self.clusters([s.signatures for s in states], n)
        cluster = np.asarray(found.cluster, dtype=np.int64)
        members = np.flatnonzero(np.bincount(cluster, minlength=n)[cluster] > 1)
        # Only rows of non-trivial clusters are listed: the decision stays small.
        representative = dict(zip(row_ids[members].tolist(), row_ids[cluster[members]].tolist()))
        is_rep = cluster[members] == members
        removed = len(members) if self.mode == "drop_all" else int((~is_rep).sum())
        metrics = {"rows": n, "duplicate_clusters": int(is_rep.sum()), "rows_in_clusters": len(members),
                   "removed": removed, **found.metrics}
        return {"representative": representative, "metrics": metrics}

    def apply(self, batch: pd.DataFrame, decision: dict[str, Any], ctx: Any) -> BatchResult:
        representative: dict[str, str] = decision["representative"]
        ids = batch[ROW_ID].astype(str).tolist()
        reps = [representative.get(r, r) for r in ids]
        if self.mode == "drop_all":
            keep = np.fromiter((r not in representative for r in ids), dtype=bool, count=len(ids))
        else:
            keep = np.fromiter((r == c for r, c in zip(ids, reps)), dtype=bool, count=len(ids))
        out_col = ctx.cols.get("output_key")
        frame, written = batch, []
        if out_col:
            frame = batch.assign(**{out_col: np.asarray(reps, dtype=object)})
            written = [out_col]
        result = split_dropped(frame, keep, self.drop_reason, written)
        result.metrics = decision.get("metrics")
        return result

