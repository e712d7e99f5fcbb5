"""Shared plumbing of the dedup operators: scan signatures per chunk, cluster once, drop per chunk.

Every dedup operator is a :class:`~dataflow.core.operator.DatasetOperator`:

* ``scan`` turns one chunk into a compact :class:`ScanState` (the chunk's row ids and its signatures,
  e.g. uint32 MinHash values), so the barrier holds signatures, never rows;
* ``decide`` concatenates the states in input order, lets the subclass find duplicate clusters over
  the whole dataset and records, for every row of a non-trivial cluster, the row id of the cluster's
  representative (its first row in input order);
* ``apply`` writes that representative's row id to the cluster column (every row gets one: a unique
  row is its own representative) and drops duplicates with a categorical reason.

**Keyed dedups** (MinHash, SimHash, exact) find their clusters one way, whoever runs them: every row
gets one uint64 key per table (:meth:`ClusterDedup.group_keys`), rows with equal keys in a table are
candidate pairs, :meth:`ClusterDedup.link` checks each candidate on the two rows' signatures, and the
linked pairs' connected components are the clusters (representative: the lowest row). In one process
that is :meth:`ClusterDedup.clusters`; a cluster executor runs the same keys, buckets, check and
components as a hash shuffle (:mod:`dataflow.lib.dedup.shuffle`) and builds the same decision with
:meth:`ClusterDedup.decision`, so its output is byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from dataflow.core.errors import ParamsError
from dataflow.core.operator import ROW_ID, BatchResult, DatasetOperator, InputColumn, split_dropped
from dataflow.lib.dedup.pairs import cluster_duplicates, keyed_pairs

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
        """Cluster the ``n`` rows of the whole dataset from every chunk's signatures (in order).

        The default is the keyed path (module doc); an operator without :meth:`group_keys` overrides it."""
        sig = self.concat_signatures(signatures)
        keys = self.group_keys(sig)
        if keys is None:
            raise NotImplementedError(f"{type(self).__name__} must implement clusters() or group_keys()")
        pairs = keyed_pairs(keys)
        linked = pairs[self.linked_mask(sig, sig, pairs, pairs)]
        cluster = cluster_duplicates(n, linked)
        rows_in_clusters = int((np.bincount(cluster, minlength=n)[cluster] > 1).sum()) if n else 0
        clusters = int(np.count_nonzero(np.bincount(cluster, minlength=n) > 1)) if n else 0
        return Clusters(cluster, self.grouping_metrics(candidates=len(pairs), linked=len(linked), rows=n,
                                                       rows_in_clusters=rows_in_clusters, clusters=clusters))

    # ------------------------------------------------------------------ keyed dedups
    def group_keys(self, signatures: Any) -> np.ndarray | None:
        """``(tables, n)`` uint64 keys of the rows of ``signatures``; None: not a keyed dedup."""
        return None

    def link(self, a: Any, b: Any) -> np.ndarray:
        """Which candidate pairs (signatures ``a[i]``, ``b[i]``) are duplicates; default: all of them."""
        return np.ones(len(a), dtype=bool)

    def grouping_metrics(self, *, candidates: int, linked: int, rows: int, rows_in_clusters: int,
                         clusters: int) -> dict[str, Any]:
        """The operator's own run.json metrics of a keyed clustering."""
        return {"linked_pairs": linked}

    def empty_signatures(self) -> Any:
        return np.zeros(0, dtype=np.uint64)

    def concat_signatures(self, signatures: list[Any]) -> Any:
        return np.concatenate(signatures) if signatures else self.empty_signatures()

    def take_signatures(self, signatures: Any, positions: np.ndarray) -> Any:
        """The signatures of the rows at ``positions`` of one chunk's signatures."""
        return signatures[positions]

    def linked_mask(self, sig_a: Any, sig_b: Any, index_a: np.ndarray, index_b: np.ndarray,
                    block: int = 32768) -> np.ndarray:
        """:meth:`link` of pairs ``(sig_a[index_a[k, 0]], sig_b[index_b[k, 1]])``, in blocks of pairs so
        the gathered signatures stay small."""
        out = np.zeros(len(index_a), dtype=bool)
        for lo in range(0, len(index_a), block):
            out[lo:lo + block] = self.link(sig_a[index_a[lo:lo + block, 0]], sig_b[index_b[lo:lo + block, 1]])
        return out

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
        return self.decision(row_ids[members].tolist(), row_ids[cluster[members]].tolist(), n, found.metrics)

    def decision(self, member_ids: list[str], representative_ids: list[str], rows: int,
                 metrics: dict[str, Any]) -> dict[str, Any]:
        """The decision from the rows of non-trivial clusters (in input order) and each one's
        representative; only those rows are listed, so the decision stays small."""
        representative = dict(zip(member_ids, representative_ids))
        clusters = sum(m == r for m, r in zip(member_ids, representative_ids))
        removed = len(member_ids) if self.mode == "drop_all" else len(member_ids) - clusters
        metrics = {"rows": rows, "duplicate_clusters": clusters, "rows_in_clusters": len(member_ids),
                   "removed": removed, **metrics}
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

