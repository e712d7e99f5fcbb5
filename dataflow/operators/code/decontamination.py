"""Decontamination: drop training rows that contain benchmark problems or their solutions."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from dataflow.core.errors import ParamsError
from dataflow.core.operator import Filter, InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.code_tokens import ngrams, word_tokens
from dataflow.operators.code._base import text_values

#: Fields of a benchmark record that hold a problem or a solution (MBPP, HumanEval, APPS, ...).
BENCHMARK_FIELDS = ("text", "prompt", "question", "problem", "description", "code", "canonical_solution",
                    "solution", "solutions")
#: Fields naming a benchmark record, first found wins (else its position, from 1).
ID_FIELDS = ("task_id", "problem_id", "id", "name")


def read_records(path: Path) -> list[Any]:
    """Records of a JSONL or JSON file (optionally gzipped): a list, or {id: record or text}."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        content = f.read()
    if path.name.removesuffix(".gz").endswith(".jsonl"):
        return [json.loads(line) for line in content.splitlines() if line.strip()]
    data = json.loads(content)
    if isinstance(data, dict):
        return [{"task_id": key, **(value if isinstance(value, dict) else {"text": value})}
                for key, value in data.items()]
    return list(data)


def benchmark_pieces(records: list[Any], fields: list[str]) -> list[tuple[str, str]]:
    """``(label, text)`` for every problem or solution text: label ``<id>`` or ``<id> <field>``."""
    pieces = []
    for position, record in enumerate(records, 1):
        if isinstance(record, str):
            pieces.append((str(position), record))
            continue
        item = next((str(record[k]) for k in ID_FIELDS if record.get(k) not in (None, "")), str(position))
        for name in fields:
            value = record.get(name)
            values = value if isinstance(value, list) else [value]
            text = "\n".join(v for v in values if isinstance(v, str))
            if text.strip():
                pieces.append((f"{item} {name}", text))
    return pieces


@register_operator
class CodeDecontaminationFilter(Filter):
    """Drop rows whose code or text contains a benchmark problem or solution (n-gram containment).

    The benchmark comes from ``benchmark_path`` (JSONL or JSON, optionally ``.gz``: MBPP's jsonl,
    HumanEval's ``HumanEval.jsonl.gz``, ...) and/or ``benchmark_items`` (``{id: text}`` or a list of
    texts). Of each record, every field of ``fields`` present (default: text, prompt, question, problem,
    description, code, canonical_solution, solution, solutions) is one *piece*, named by the record's
    ``task_id`` / ``problem_id`` / ``id`` / ``name`` (else its position) and the field. Texts are
    tokenised into lowercase words and single symbols, comments and strings included, whitespace
    ignored (:func:`dataflow.lib.code_tokens.word_tokens`); a row is contaminated when it contains at
    least ``threshold`` (default 0.5) of the distinct ``ngram``-grams (default 10) of some piece. Pieces
    shorter than ``ngram`` tokens are not checked (too short to tell a copy from a common idiom). Both
    ``input_key`` (the code) and, when bound, ``input_text_key`` (e.g. the instruction) are checked.
    ``output_key`` (``contamination``) names the best-matching piece (empty when clean); the drop reason
    reads ``contains MBPP 601 code (0.93 of its 10-grams)``, with ``benchmark_name`` first. The
    benchmark file's content is part of the step's fingerprint, so editing it re-runs the step.
    """

    input_key = InputColumn("code", "str", nullable=True)
    input_text_key = InputColumn(None, "str", nullable=True)
    output_key = OutputColumn("contamination", "str")
    path_params = ("benchmark_path",)
    example_params: ClassVar[dict[str, Any]] = {
        "benchmark_items": {"add": "def add(a, b):\n    return a + b  # the sum of a and b, two numbers"}}

    def __init__(self, benchmark_path: str | None = None,
                 benchmark_items: dict[str, str] | list[str] | None = None, benchmark_name: str = "benchmark",
                 fields: list[str] | None = None, ngram: int = 10, threshold: float = 0.5) -> None:
        super().__init__()
        if benchmark_path is None and not benchmark_items:
            raise ParamsError(f"{self.op_name()}: give benchmark_path or benchmark_items")
        if benchmark_path is not None and not Path(benchmark_path).is_file():
            raise ParamsError(f"{self.op_name()}: benchmark_path {benchmark_path!r} is not a file")
        if ngram < 1 or not 0 < threshold <= 1:
            raise ParamsError(f"{self.op_name()}: need ngram >= 1 and 0 < threshold <= 1")
        self.benchmark_path, self.benchmark_items = benchmark_path, benchmark_items
        self.benchmark_name, self.ngram, self.threshold = benchmark_name, ngram, threshold
        self.fields = list(fields) if fields is not None else list(BENCHMARK_FIELDS)
        self._index: tuple[dict[tuple[str, ...], list[int]], list[str], list[int]] | None = None

    def fingerprint_extras(self) -> list[Any]:
        if self.benchmark_path is None:
            return []
        return [hashlib.sha256(Path(self.benchmark_path).read_bytes()).hexdigest()]

    def index(self) -> tuple[dict[tuple[str, ...], list[int]], list[str], list[int]]:
        """{n-gram: pieces holding it}, piece labels, distinct n-grams per piece (built once)."""
        if self._index is None:
            items = self.benchmark_items or []
            records = read_records(Path(self.benchmark_path)) if self.benchmark_path else []
            pieces = benchmark_pieces(records, self.fields)
            pieces += list(items.items()) if isinstance(items, dict) else [
                (str(i), text) for i, text in enumerate(items, 1)]
            grams_of: dict[tuple[str, ...], list[int]] = {}
            labels, sizes = [], []
            for label, text in pieces:
                tokens = word_tokens(text)
                if len(tokens) < self.ngram:
                    continue
                grams = set(ngrams(tokens, self.ngram))
                for gram in grams:
                    grams_of.setdefault(gram, []).append(len(labels))
                labels.append(label)
                sizes.append(len(grams))
            self._index = grams_of, labels, sizes
        return self._index

    def best_match(self, text: str) -> tuple[str, float]:
        """The piece of which ``text`` contains the largest share of n-grams, and that share."""
        grams_of, labels, sizes = self.index()
        shared: Counter[int] = Counter()
        for gram in set(ngrams(word_tokens(text), self.ngram)):
            shared.update(grams_of.get(gram, ()))
        if not shared:
            return "", 0.0
        piece, share = max(((p, n / sizes[p]) for p, n in shared.items()), key=lambda x: (x[1], -x[0]))
        return labels[piece], share

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        texts = [text_values(batch, ctx.cols.input_key), text_values(batch, ctx.cols.get("input_text_key"))]
        matches = [max((self.best_match(t) for t in row if t), key=lambda m: m[1], default=("", 0.0))
                   for row in zip(*texts)]
        hits = [m if m[1] >= self.threshold else ("", 0.0) for m in matches]
        return {"output_key": [label for label, _ in hits], "hits": hits}

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        hits = scores["hits"]
        reasons = [f"contains {self.benchmark_name} {label} ({share:.2f} of its {self.ngram}-grams)"
                   if label else "" for label, share in hits]
        return [not label for label, _ in hits], reasons
