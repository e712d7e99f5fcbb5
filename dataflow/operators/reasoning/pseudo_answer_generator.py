"""Answers for questions without gold: sample several solutions and take the majority answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import BatchResult, Generator, InputColumn, OutputColumn, split_dropped
from dataflow.core.registry import register_operator
from dataflow.lib.math_answers import (
    answers_equivalent,
    extract_final_answer,
    majority_vote,
)
from dataflow.operators.reasoning._llm_steps import TemplatedLLM, is_blank, rejected_rows
from dataflow.operators.reasoning.answer_generator import DEFAULT_SYSTEM_PROMPT


def _shown(answers: list[str | None]) -> str:
    return ", ".join("-" if a is None else " ".join(a.split())[:30] for a in answers)


@register_operator
class ReasoningPseudoAnswerGenerator(TemplatedLLM, Generator):
    """Verifies answers by self-consistency when there is no gold answer.

    For each question it samples ``n_samples`` solutions (``temperature`` > 0, sampling seeds
    ``seed``, ``seed + 1``, ...), extracts each final answer, and takes the majority answer up to
    mathematical equivalence (``answer_equivalence.majority_vote``). If ``input_answer_key`` is bound,
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

    resources = ("llm",)
    input_key = InputColumn("question")
    input_gold_key = InputColumn(None, "str", nullable=True, description="rows with a gold answer are skipped")
    input_answer_key = InputColumn(None, "str", nullable=True, description="the row's own answer: one vote")
    output_key = OutputColumn("pseudo_answer", "str")
    output_agreement_key = OutputColumn("pseudo_answer_agreement", "number")
    output_solution_key = OutputColumn(None, "str", description="a sampled solution reaching the vote")

    def __init__(self, n_samples: int = 3, min_agreement: float = 0.6, temperature: float = 0.7,
                 max_tokens: int = 512, seed: int = 0, prompt_template: str = "reasoning/answer",
                 system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        if n_samples < 1:
            raise ValueError("n_samples must be >= 1")
        if temperature <= 0:
            raise ValueError("temperature must be > 0: greedy samples would all be the same")
        if not 0 <= min_agreement <= 1:
            raise ValueError("min_agreement is a share in [0, 1]")
        self.n_samples = n_samples
        self.min_agreement = min_agreement
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self._setup_template()

    def _needs_vote(self, batch: pd.DataFrame, ctx: Any) -> list[int]:
        questions = batch[ctx.cols.input_key].tolist()
        gold_col = ctx.cols.get("input_gold_key")
        golds = batch[gold_col].tolist() if gold_col else [None] * len(batch)
        return [i for i in range(len(batch)) if is_blank(golds[i]) and not is_blank(questions[i])]

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        from dataflow.serving.base import LLMRequest

        cols = ctx.cols
        questions = batch[cols.input_key].tolist()
        todo = self._needs_vote(batch, ctx)
        prompts = self.render_prompts(batch.iloc[todo], question=[questions[i] for i in todo])
        requests = [LLMRequest(prompt=p, system=self.system_prompt, temperature=self.temperature,
                               max_tokens=self.max_tokens, seed=self.seed + k)
                    for p in prompts for k in range(self.n_samples)]
        results = ctx.serving.generate(requests) if requests else []
        own = batch[cols.input_answer_key].tolist() if cols.get("input_answer_key") else None

        n = len(batch)
        voted: list[Any] = [None] * n
        agreement: list[Any] = [None] * n
        solutions: list[Any] = [None] * n
        mask = np.ones(n, dtype=bool)
        reasons = np.full(n, "", dtype=object)
        failures: dict[int, str] = {}
        for j, i in enumerate(todo):
            samples = results[j * self.n_samples:(j + 1) * self.n_samples]
            texts = [r.text for r in samples if r.error is None]
            if not texts:
                failures[i] = f"llm: {samples[0].error}"
                continue
            answers = [extract_final_answer(t) for t in texts]
            if all(a is None for a in answers):
                mask[i], reasons[i] = False, f"no final answer in {len(texts)} samples"
                continue
            votes = answers + ([own[i] if not is_blank(own[i]) else None] if own is not None else [])
            winner, share = majority_vote(votes)
            counted = sum(1 for v in votes if not is_blank(v))
            agreement[i] = round(share * counted / len(votes), 4)
            voted[i] = winner
            solutions[i] = next((t for t, a in zip(texts, answers)
                                 if a is not None and answers_equivalent(a, winner)), None)
            if agreement[i] < self.min_agreement:
                mask[i] = False
                reasons[i] = (f"vote agreement {agreement[i]:.2f} < {self.min_agreement} "
                              f"(answers: {_shown(votes)})")
            elif own is not None and (is_blank(own[i]) or not answers_equivalent(own[i], winner)):
                mask[i] = False
                reasons[i] = f"answer {_shown([own[i]])} != voted {_shown([winner])}"

        columns: dict[str, list[Any]] = {cols.output_key: voted}
        if cols.get("output_agreement_key"):
            columns[cols.output_agreement_key] = agreement
        if cols.get("output_solution_key"):
            columns[cols.output_solution_key] = solutions
        frame = batch.assign(**{k: pd.Series(v, dtype=object, index=batch.index) for k, v in columns.items()})
        ok = np.array([i not in failures for i in range(n)], dtype=bool)
        result = split_dropped(frame[ok], mask[ok], reasons[ok], list(columns))
        result.rejected = rejected_rows(batch, failures)
        if failures:
            result.kept = None
        result.metrics = {"voted_rows": len(todo), "samples": len(requests)}
        return result
