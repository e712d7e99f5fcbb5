"""Recall@k of the gold passages in a list of retrieved passages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import text_of
from dataflow.core.operator import Evaluator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.retrieval import recall_at_k


def passage_ids(value: Any) -> list[str]:
    """Ids of a list cell, in order: passages as ``{id, ...}`` dicts (what AgenticRAGRetriever writes) or
    plain ids; a missing cell has none."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        return [text_of(value)] if text_of(value) else []
    return [str(v["id"]) if isinstance(v, dict) else str(v) for v in value]


@register_operator
class AgenticRAGRetrievalRecallEvaluator(Evaluator):
    """Writes recall@``k`` to ``output_key``: the share of the row's gold passage ids
    (``input_gold_key``, a list, or one id) found among the first ``k`` retrieved passages
    (``input_key``, the list AgenticRAGRetriever writes, or a list of ids). A row without gold passages
    gets None (it has nothing to recall), so the column's mean is over the rows that can be scored.
    """

    input_key = InputColumn("retrieved", "list", nullable=True)
    input_gold_key = InputColumn("gold_passage_ids", "any", nullable=True)
    output_key = OutputColumn("retrieval_recall", "float")

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        return {cols.output_key: [recall_at_k(passage_ids(found), passage_ids(gold), self.k)
                                  for found, gold in zip(batch[cols.input_key].tolist(),
                                                         batch[cols.input_gold_key].tolist())]}
