"""Benchmark decontamination (rows sharing n-grams with benchmark questions) and, as the reference
DataFlow's operator of this name does, repetition (answers repeating their own n-grams)."""

from __future__ import annotations

import json
import re
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import BatchResult, Filter, InputColumn, OutputColumn, split_dropped
from dataflow.core.registry import register_operator

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_WORD = re.compile(r"[^\w\s]")
_NOT_CJK_ALNUM = re.compile(r"[^\u4e00-\u9fffa-z0-9]")


def repetition_score(text: str, n: int) -> float:
    """Distinct n-grams / all n-grams of ``text`` (1.0: no repeats; 0.0: too short for one n-gram). Text
    with Chinese characters uses character n-grams of its Chinese letters and digits, other text word
    n-grams of its lower-cased words with punctuation removed (the reference's measure)."""
    text = text.lower()
    if _CJK.search(text):
        units: Any = _NOT_CJK_ALNUM.sub("", text)
        grams = [units[i:i + n] for i in range(len(units) - n + 1)]
    else:
        units = _NOT_WORD.sub(" ", text).split()
        grams = [" ".join(units[i:i + n]) for i in range(len(units) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
# Odd 64-bit multiplier of the polynomial rolling hash over token hashes (wraps modulo 2**64).
_BASE = np.uint64(0x9E3779B97F4A7C15)


def _word_hashes(words: list[str]) -> np.ndarray:
    """One stable 64-bit value per lower-cased word (crc32 of the word, spread by a multiply)."""
    codes = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):
        return codes * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(1)


def ngram_table(texts: list[Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word n-grams of all ``texts`` at once, and the index of the text each comes from.

    Words of all texts are hashed in one pass; n-gram hashes are a polynomial over a sliding window of
    the concatenated word hashes, keeping only windows that lie inside one text. Texts shorter than
    ``n`` words (and non-strings) have no n-grams.
    """
    per_text = [_WORD.findall(t.lower()) if isinstance(t, str) else [] for t in texts]
    lengths = np.array([len(w) for w in per_text], dtype=np.int64)
    flat = [w for words in per_text for w in words]
    if len(flat) < n:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    tokens = _word_hashes(flat)
    owner = np.repeat(np.arange(len(texts)), lengths)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, n)
    powers = _BASE ** np.arange(n - 1, -1, -1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        hashes = (windows * powers).sum(axis=1, dtype=np.uint64)
    inside = owner[: len(hashes)] == owner[n - 1:]
    return hashes[inside], owner[: len(hashes)][inside]


def ngram_hashes(text: Any, n: int) -> np.ndarray:
    """Hashes of the word n-grams of one text."""
    return ngram_table([text], n)[0]


class BenchmarkIndex:
    """Sorted n-gram hashes of the benchmark questions, with the question each hash came from."""

    def __init__(self, texts: list[str], n: int) -> None:
        self.texts = texts
        hashes, owners = ngram_table(texts, n)
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.owners = hashes[order], owners[order]

    def lookup(self, grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each n-gram: whether the benchmark has it, and (where it does) one benchmark question."""
        if not len(self.hashes) or not len(grams):
            return np.zeros(len(grams), dtype=bool), np.full(len(grams), -1)
        at = np.minimum(np.searchsorted(self.hashes, grams), len(self.hashes) - 1)
        found = self.hashes[at] == grams
        return found, np.where(found, self.owners[at], -1)


def read_benchmark(path: str | Path, field: str) -> list[str]:
    """Texts of ``field`` in a JSONL file (or a JSON array of objects)."""
    path = Path(path).expanduser()
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    values = [r.get(field) for r in records if isinstance(r, dict)]
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        raise ValueError(f"{path}: no text in field {field!r}")
    return texts


@register_operator
class ReasoningAnswerNgramFilter(Filter):
    """Decontamination: drops rows whose question (or answer) overlaps benchmark questions in word n-grams.

    The benchmark questions come from ``benchmark_path`` (JSONL, or a JSON array, reading
    ``benchmark_field``) and/or the list ``benchmark_questions``. Texts are lower-cased and split into
    words; every window of ``n`` words is hashed (a stable 64-bit polynomial hash, vectorised with
    numpy) and looked up in the sorted hashes of all benchmark n-grams. A text's overlap is the share of
    its n-grams found in the benchmark; the row's score (written to ``output_key``) is the larger of
    the question's and the answer's (``input_answer_key``, optional). Rows with overlap >
    ``max_overlap`` are dropped with a reason naming the text, the share and the benchmark question
    most of the shared n-grams come from, e.g. ``question shares 12/14 8-grams (86%) with benchmark
    #41: 'Natalia sold clips to ...'``. Texts shorter than ``n`` words have no n-grams (overlap 0).

    Repetition (the reference DataFlow's ReasoningAnswerNgramFilter, and what this operator does when no
    benchmark is given): the question and answer joined are scored by :func:`repetition_score` with
    ``repetition_ngram``-grams into ``output_repetition_key``, and rows outside
    ``[min_score, max_score]`` (defaults 0.1 and 1.0 then) are dropped, e.g. ``repetition 0.04 <
    0.1``. With a benchmark, the repetition check runs only when ``min_score`` or ``max_score`` is given.
    """

    input_key = InputColumn("question")
    input_answer_key = InputColumn(None, "str", nullable=True, description="also checked when bound")
    output_key = OutputColumn("benchmark_ngram_overlap", "number")
    output_repetition_key = OutputColumn("repetition_score", "number")
    path_params = ("benchmark_path",)
    example_params = {"benchmark_questions": ["Natalia sold clips to 48 of her friends in April."]}

    def __init__(self, benchmark_path: str | None = None, benchmark_field: str = "question",
                 benchmark_questions: list[str] | None = None, n: int = 8, max_overlap: float = 0.0,
                 min_score: float | None = None, max_score: float | None = None, repetition_ngram: int = 5
                 ) -> None:
        super().__init__()
        if n < 1 or repetition_ngram < 1:
            raise ValueError("n and repetition_ngram must be >= 1")
        self.has_benchmark = benchmark_path is not None or bool(benchmark_questions)
        self.check_repetition = not self.has_benchmark or min_score is not None or max_score is not None
        self.min_score = 0.1 if min_score is None else min_score
        self.max_score = 1.0 if max_score is None else max_score
        self.repetition_ngram = repetition_ngram
        self.benchmark_path = benchmark_path
        self.benchmark_field = benchmark_field
        self.benchmark_questions = list(benchmark_questions or [])
        self.n = n
        self.max_overlap = max_overlap
        self._index: BenchmarkIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> BenchmarkIndex:
        with self._lock:
            if self._index is None:
                texts = list(self.benchmark_questions)
                if self.benchmark_path is not None:
                    texts += read_benchmark(self.benchmark_path, self.benchmark_field)
                self._index = BenchmarkIndex(texts, self.n)
            return self._index

    def __getstate__(self) -> dict[str, Any]:  # picklable for process executors; the index is rebuilt
        state = dict(self.__dict__)
        state["_index"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _overlaps(self, values: list[Any], index: BenchmarkIndex) -> tuple[np.ndarray, list[str]]:
        """Per text: the share of its n-grams found in the benchmark, and the reason text (or "")."""
        grams, owner = ngram_table(values, self.n)
        found, source = index.lookup(grams)
        totals = np.bincount(owner, minlength=len(values))
        shared = np.bincount(owner[found], minlength=len(values))
        shares = np.divide(shared, totals, out=np.zeros(len(values)), where=totals > 0)
        reasons = [""] * len(values)
        for i in np.flatnonzero(shared):
            top = int(np.bincount(source[found & (owner == i)]).argmax())
            text = " ".join(index.texts[top].split())
            text = text if len(text) <= 60 else text[:57] + "..."
            reasons[i] = (f"shares {shared[i]}/{totals[i]} {self.n}-grams ({shares[i]:.0%}) "
                          f"with benchmark #{top}: {text!r}")
        return shares, reasons

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        texts = {"question": batch[ctx.cols.input_key].tolist()}
        if ctx.cols.get("input_answer_key"):
            texts["answer"] = batch[ctx.cols.input_answer_key].tolist()
        scores = np.zeros(len(batch))
        reasons = np.full(len(batch), "", dtype=object)
        joined = [" ".join(str(v) for v in row if isinstance(v, str)) for row in zip(*texts.values())]
        repetition = np.array([repetition_score(t, self.repetition_ngram) for t in joined])
        for name, values in texts.items() if self.has_benchmark else ():
            index = self.index()
            shares, why = self._overlaps(values, index)
            better = shares > scores
            scores[better] = shares[better]
            for i in np.flatnonzero(better):
                reasons[i] = f"{name} {why[i]}"
        mask = scores <= self.max_overlap
        if self.check_repetition:
            for bad, why in ((mask & (repetition < self.min_score), f"< {self.min_score}"),
                             (mask & (repetition > self.max_score), f"> {self.max_score}")):
                reasons[bad] = [f"repetition {r:.2f} {why}" for r in repetition[bad]]
                mask &= ~bad
        outputs = {ctx.cols.get("output_key"): scores, ctx.cols.get("output_repetition_key"): repetition}
        outputs.pop(None, None)
        return split_dropped(batch.assign(**outputs), mask, reasons, list(outputs))
