"""Answers for questions without gold: sample several solutions and take the majority answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMFilter
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.lib.math_answers import (
    answers_equivalent,
    extract_final_answer,
    majority_vote,
)
from dataflow.operators.reasoning._llm_steps import is_blank
from dataflow.operators.reasoning.answer_generator import DEFAULT_SYSTEM_PROMPT


def _shown(answers: list[str | None]) -> str:
    return ", ".join("-" if a is None else " ".join(a.split())[:30] for a in answers)


@register_operator
class ReasoningPseudoAnswerGenerator(LLMFilter):
    """Verifies answers by self-consistency when there is no gold answer.

    For each question it samples ``n_samples`` solutions (``temperature`` > 0, sampling seeds
    ``seed``, ``seed + 1``, ...), extracts each final answer, and takes the majority answer up to
    mathematical equivalence (``dataflow.lib.math_answers.majority_vote``). If ``input_answer_key`` is bound,
    the row's own final answer (e.g. from :class:`ReasoningAnswerGenerator`) is one more vote, and the
    row is kept only when it agrees with the majority. The agreement share is the winning answer's
    votes over ALL votes cast, so samples without a final answer count against it.

    Writes ``output_key`` (the voted answer) and ``output_agreement_key`` (its share); with
    ``output_solution_key`` bound, also a sampled solution that reached the voted answer. Drops, with the
    reason: ``no final answer in N samples``; ``vote agreement S < min_agreement (answers: ...)``;
    ``answer X != voted Y``. Rows where every sampling call failed go to the rejects.

    With ``input_gold_key`` bound, rows that have a gold answer are passed through untouched, with no
    call (their outputs are null): put this step after :class:`ReasoningAnswerGroundTruthFilter`
    with ``keep_without_gold`` to verify gold rows by gold and the others by vote.
    """

    kind = "generate"  # it writes the voted answer; the filter hooks let it drop rows with their reasons
    prompt_inputs = {"question": "input_key"}
    input_key = InputColumn("question")
    input_gold_key = InputColumn(None, "str", nullable=True, description="rows with a gold answer are skipped")
    input_answer_key = InputColumn(None, "str", nullable=True, description="the row's own answer: one vote")
    output_key = OutputColumn("pseudo_answer", "str")
    output_agreement_key = OutputColumn("pseudo_answer_agreement", "number")
    output_solution_key = OutputColumn(None, "str", description="a sampled solution reaching the vote")

    def __init__(self, n_samples: int = 3, min_agreement: float = 0.6, temperature: float = 0.7,
                 max_tokens: int = 512, seed: int = 0, prompt_template: str = "reasoning/answer",
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        if n_samples < 1:
            raise ValueError("n_samples must be >= 1")
        if temperature <= 0:
            raise ValueError("temperature must be > 0: greedy samples would all be the same")
        if not 0 <= min_agreement <= 1:
            raise ValueError("min_agreement is a share in [0, 1]")
        self.n_samples = n_samples
        self.min_agreement = min_agreement

    def _needs_vote(self, batch: pd.DataFrame, ctx: Any) -> list[int]:
        questions = batch[ctx.cols.input_key].tolist()
        gold_col = ctx.cols.get("input_gold_key")
        golds = batch[gold_col].tolist() if gold_col else [None] * len(batch)
        return [i for i in range(len(batch)) if is_blank(golds[i]) and not is_blank(questions[i])]

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        """The vote of each row, with ``drop`` the reason to drop it (None: keep)."""
        cols = ctx.cols
        todo = self._needs_vote(batch, ctx)
        seed = self.sampling.seed or 0
        requests = [self.sampling.request(p, seed=seed + k)
                    for p in self.prompts(batch.iloc[todo], ctx) for k in range(self.n_samples)]
        results = self.call(ctx, requests)
        own = batch[cols.input_answer_key].tolist() if cols.get("input_answer_key") else None

        n = len(batch)
        voted: list[Any] = [None] * n
        agreement: list[Any] = [None] * n
        solutions: list[Any] = [None] * n
        drop: list[Any] = [None] * n
        for j, i in enumerate(todo):
            samples = results[j * self.n_samples:(j + 1) * self.n_samples]
            texts = [r.text for r in samples if r.error is None]
            if not texts:
                voted[i] = Reject(f"llm: {samples[0].error}")
                continue
            answers = [extract_final_answer(t) for t in texts]
            if all(a is None for a in answers):
                drop[i] = f"no final answer in {len(texts)} samples"
                continue
            votes = answers + ([own[i] if not is_blank(own[i]) else None] if own is not None else [])
            winner, share = majority_vote(votes)
            counted = sum(1 for v in votes if not is_blank(v))
            agreement[i] = round(share * counted / len(votes), 4)
            voted[i] = winner
            solutions[i] = next((t for t, a in zip(texts, answers)
                                 if a is not None and answers_equivalent(a, winner)), None)
            if agreement[i] < self.min_agreement:
                drop[i] = f"vote agreement {agreement[i]:.2f} < {self.min_agreement} (answers: {_shown(votes)})"
            elif own is not None and (is_blank(own[i]) or not answers_equivalent(own[i], winner)):
                drop[i] = f"answer {_shown([own[i]])} != voted {_shown([winner])}"
        columns = {"output_key": voted, "output_agreement_key": agreement, "output_solution_key": solutions}
        return {**{k: pd.Series(v, dtype=object, index=batch.index) for k, v in columns.items()}, "drop": drop}

    def keep(self, batch: pd.DataFrame, scores: dict[str, Any], ctx: Any) -> Any:
        reasons = np.array(["" if r is None else r for r in scores["drop"]], dtype=object)
        return reasons == "", reasons
