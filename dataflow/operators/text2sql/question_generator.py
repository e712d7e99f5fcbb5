"""Natural-language questions for SQL queries: several candidates per query, the most central one kept."""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.llm_types import LLMResult
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.operators.text2sql.sql_generator import LLMDatabaseAccess

DEFAULT_TEMPLATE = "text2sql/question_generate"
QUESTION_ANSWER = {"type": "object",
                   "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 1000},
                                  "external_knowledge": {"type": "string", "maxLength": 1000}},
                   "required": ["question", "external_knowledge"], "additionalProperties": False}
_WORD = re.compile(r"\w+", re.UNICODE)


def lexical_similarities(texts: list[str]) -> np.ndarray:
    """Pairwise Jaccard similarity of the texts' lowercased word sets (two empty texts: 1)."""
    words = [set(_WORD.findall(t.lower())) for t in texts]
    return np.array([[len(a & b) / len(a | b) if a | b else 1.0 for b in words] for a in words])


def cosine_similarities(vectors: Any) -> np.ndarray:
    """Pairwise cosine similarity of embedding vectors (a zero vector is similar to nothing)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return unit @ unit.T


def most_central(similarities: np.ndarray) -> int:
    """The index with the highest mean similarity to the others (the earliest on a tie; 0 when alone)."""
    n = len(similarities)
    if n <= 1:
        return 0
    means = (similarities.sum(axis=1) - np.diag(similarities)) / (n - 1)
    return int(np.flatnonzero(np.isclose(means, means.max()))[0])


@register_operator
class Text2SQLQuestionGenerator(LLMDatabaseAccess, LLMGenerator):
    """Writes the question each row's SQL (``input_sql_key``, on the database in ``input_db_id_key``)
    answers, into ``output_question_key``, with the external knowledge it relies on (a coding of values,
    a formula; empty when none) in ``output_evidence_key``.

    ``num_candidates`` questions are asked per query (template ``text2sql/question_generate``: the
    schema, the SQL and its first result rows; each request its own seed ``seed + k``, at
    ``temperature`` 0.7 so they differ), the answer JSON ``{"question", "external_knowledge"}``. The
    candidate kept is the most central one, the consensus of the samples: the highest mean similarity to
    the other candidates, the earliest on a tie. ``similarity="lexical"`` compares the questions' word
    sets (Jaccard; no model); ``"embedding"`` the cosine of their embeddings from the pipeline's
    embedder (so the operator then also uses the ``embedder`` resource). A row whose question column
    already holds a non-empty question keeps it, and its evidence, and is not sent; so is a row without
    SQL (its question stays empty). A row whose
    database cannot be opened, or whose every candidate failed, goes to the rejects.
    """

    input_sql_key = InputColumn("SQL", "str", nullable=True, description="the query to describe")
    output_question_key = OutputColumn("question", "str", description="the question the SQL answers")
    output_evidence_key = OutputColumn("evidence", "str", description="external knowledge the question needs")
    default_template = DEFAULT_TEMPLATE
    provided_variables = frozenset({"schema", "dialect", "sql", "result"})

    def __init__(self, db_root: str | None = None, db_url: str | None = None, num_candidates: int = 3,
                 similarity: Literal["lexical", "embedding"] = "lexical", timeout_s: float = 10.0,
                 max_rows: int = 10_000, prompt_template: str = DEFAULT_TEMPLATE, system_prompt: str | None = None,
                 temperature: float = 0.7, max_tokens: int = 256, seed: int | None = 0, llm_serving: Any = None,
                 embedder: Any = None) -> None:
        if num_candidates < 1:
            raise ValueError("num_candidates must be at least 1")
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving=llm_serving)
        self.init_database(db_root, db_url, timeout_s, max_rows)
        self.num_candidates, self.similarity, self.embedder = num_candidates, similarity, embedder
        self.resources = ("llm", "embedder") if similarity == "embedding" else ("llm",)

    def schema(self) -> dict:
        return QUESTION_ANSWER

    def parse(self, answer: LLMResult) -> tuple[str, str]:
        question = answer.parsed["question"].strip()
        if not question:
            raise ValueError("empty question")
        return question, answer.parsed["external_knowledge"].strip()

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        cols = ctx.cols
        questions = _cells(batch, cols.output_question_key)
        evidence = _cells(batch, cols.output_evidence_key)
        sqls = [s.strip() if isinstance(s, str) else "" for s in batch[cols.input_sql_key].tolist()]
        todo = [bool(sql) and not (isinstance(q, str) and q.strip()) for q, sql in zip(questions, sqls)]
        db_ids = self.db_ids(batch, ctx)
        schemas = [s if t else "" for s, t in zip(self.row_schemas(batch, ctx), todo)]
        results = [self.result_preview(d, s) if isinstance(c, str) and c else ""
                   for d, s, c in zip(db_ids, sqls, schemas)]
        texts = [s if isinstance(s, str) else "" for s in schemas]
        prompts = self.render_prompts(batch, schema=texts, dialect=self.dialect_name, sql=sqls, result=results)
        requests = [[self.sampling.request(p, QUESTION_ANSWER, seed=seed) for seed in self.request_seeds(
            self.num_candidates)] if isinstance(s, str) and s else [] for p, s in zip(prompts, schemas)]
        asked = self.ask_each(ctx, requests)
        candidates = [[a for a in row if not isinstance(a, Reject)] for row in asked]
        chosen = self.choose(candidates, ctx)
        for i, row in enumerate(asked):
            if isinstance(schemas[i], Reject):
                questions[i] = evidence[i] = schemas[i]
            elif row and not candidates[i]:
                questions[i] = evidence[i] = row[0]  # every candidate failed: retried on a re-run
            elif row:
                questions[i], evidence[i] = candidates[i][chosen[i]]
        return {cols.output_question_key: questions, cols.output_evidence_key: evidence}

    def choose(self, candidates: list[list[tuple[str, str]]], ctx: Any) -> list[int]:
        """The index of the most central candidate of each row (0 for a row with fewer than three)."""
        if self.similarity == "lexical":
            return [most_central(lexical_similarities([q for q, _ in row])) for row in candidates]
        flat = [q for row in candidates if len(row) > 2 for q, _ in row]
        vectors = iter(np.asarray(ctx.embedder.embed(flat)) if flat else [])
        return [most_central(cosine_similarities([next(vectors) for _ in row])) if len(row) > 2 else 0
                for row in candidates]


def _cells(batch: pd.DataFrame, column: str) -> list[Any]:
    """The column's values, or Nones when the rows do not have it yet."""
    return batch[column].tolist() if column in batch.columns else [None] * len(batch)
