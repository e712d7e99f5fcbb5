"""Extractive answer scores against reference answers: normalised token F1 and exact match."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import text_of
from dataflow.core.operator import Evaluator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.qa_metrics import exact_match, f1_precision_recall


def references(value: Any) -> list[str]:
    """A ground-truth cell as a list of reference answers: one string, a list of them (a list column read
    back from Parquet is an array), or none (None/NaN); missing entries are left out."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if text_of(v)]
    return [str(value)] if text_of(value) else []


class _AnswerScore(Evaluator):
    """Bindings shared by the answer scores: the predicted answer and its reference answer(s)."""

    input_prediction_key = InputColumn("refined_answer", "str", nullable=True)
    input_ground_truth_key = InputColumn("golden_doc_answer", "any", nullable=True,
                                         description="a reference answer or a list of them")

    def pairs(self, batch: pd.DataFrame, ctx: Any) -> list[tuple[str | None, list[str]]]:
        cols = ctx.cols
        predictions = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                       for v in batch[cols.input_prediction_key].tolist()]
        return list(zip(predictions, [references(v) for v in batch[cols.input_ground_truth_key].tolist()]))


@register_operator
class AgenticRAGQAF1SampleEvaluator(_AnswerScore):
    """Writes the token F1 of the predicted answer (``input_prediction_key``) against the reference
    answer(s) (``input_ground_truth_key``: a string or a list) to ``output_key``: the best over the
    references, with the SQuAD / HotpotQA normalisation (lower-case, no punctuation, no articles) and
    HotpotQA's rule that ``yes``, ``no`` and ``noanswer`` score only against themselves. A missing
    prediction or no reference scores 0. ``output_precision_key`` and ``output_recall_key`` (optional)
    receive the precision and recall of the reference that gave the best F1, as HotpotQA's evaluation
    reports them.
    """

    output_key = OutputColumn("F1Score", "float")
    output_precision_key = OutputColumn(None, "float")
    output_recall_key = OutputColumn(None, "float")

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        scores = []
        for prediction, refs in self.pairs(batch, ctx):
            found = [f1_precision_recall(prediction, r) for r in refs] if prediction is not None else []
            scores.append(max(found, default=(0.0, 0.0, 0.0)))
        cols = ctx.cols
        out = {cols.output_key: [s[0] for s in scores]}
        for position, binding in ((1, "output_precision_key"), (2, "output_recall_key")):
            if cols.get(binding):
                out[cols[binding]] = [s[position] for s in scores]
        return out


@register_operator
class AgenticRAGExactMatchEvaluator(_AnswerScore):
    """Writes whether the predicted answer (``input_prediction_key``) equals one of the reference answers
    (``input_ground_truth_key``: a string or a list) after the SQuAD / HotpotQA normalisation (lower-case,
    no punctuation, no articles, single spaces) to ``output_key`` (a bool; its mean is the EM score). A
    missing prediction or no reference is no match.
    """

    output_key = OutputColumn("ExactMatch", "bool")

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {ctx.cols.output_key: [prediction is not None and exact_match(prediction, refs)
                                      for prediction, refs in self.pairs(batch, ctx)]}
