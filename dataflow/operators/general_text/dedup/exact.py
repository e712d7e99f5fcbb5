"""Exact duplicates by a hash of the normalised text."""

from __future__ import annotations

from typing import Any

import numpy as np

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.dedup.exact import exact_hashes
from dataflow.operators.general_text.dedup._base import ClusterDedup, Mode


@register_operator
class ExactDeduplicateFilter(ClusterDedup):
    """Drop rows whose text equals an earlier row's after normalisation (64-bit BLAKE2b hash).

    With ``normalize`` (default) texts are compared lowercased, without punctuation and with
    whitespace collapsed ("Hello, World!" == "hello world"); without it byte for byte. Missing and
    empty texts are duplicates of each other. ``output_key`` receives the row id of each row's kept
    representative (the first occurrence); ``mode="drop_all"`` drops every member of a duplicate group,
    the first occurrence included. Across the whole dataset: the chunks are scanned into 8-byte hashes,
    grouped once, then dropped.
    """

    output_key = OutputColumn("exact_dup_cluster", "str",
                              description="row id of the kept representative of the row's group")
    reason = "exact duplicate"

    def __init__(self, normalize: bool = True, mode: Mode = "keep_one") -> None:
        super().__init__(mode=mode)
        self.normalize = normalize

    def signatures(self, texts: list[str], ctx: Any) -> np.ndarray:
        return exact_hashes(texts, normalize=self.normalize)

    def group_keys(self, signatures: np.ndarray) -> np.ndarray:
        return np.asarray(signatures, dtype=np.uint64).reshape(1, -1)  # one table: equal hashes

    def grouping_metrics(self, *, candidates: int, linked: int, rows: int, rows_in_clusters: int,
                         clusters: int) -> dict[str, Any]:
        return {"distinct": rows - rows_in_clusters + clusters}
