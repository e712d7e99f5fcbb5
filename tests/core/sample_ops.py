"""Small operators written for the core tests (spec files refer to them as ``tests.core.sample_ops:Name``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from dataflow.core.operator import (
    DatasetOperator,
    Evaluator,
    Generator,
    InputColumn,
    OutputColumn,
    RangeFilter,
    Refiner,
    split_dropped,
)


class Upper(Refiner):
    """Upper-cases a text column."""

    def refine(self, values: pd.Series, ctx) -> pd.Series:
        return values.str.upper()


class Suffix(Refiner):
    """Appends a fixed suffix (its param changes the output, for cache tests)."""

    def __init__(self, suffix: str = "!"):
        super().__init__()
        self.suffix = suffix

    def refine_text(self, text: str) -> str:
        return text + self.suffix


class WordCount(RangeFilter):
    """Keeps rows with min_words..max_words words."""

    input_key = InputColumn("text")
    output_key = OutputColumn("n_words", "int")
    score_name = "word_count"

    def __init__(self, min_words: int = 1, max_words: int | None = None):
        super().__init__(min_value=min_words, max_value=max_words)

    def score(self, batch, ctx):
        return batch[ctx.cols.input_key].str.split().str.len().fillna(0).to_numpy()


class Checksum(Evaluator):
    """Adds a sha1 of the text."""

    input_key = InputColumn("text")
    output_key = OutputColumn("sha")

    def evaluate(self, batch, ctx):
        return {ctx.cols.output_key: [hashlib.sha1(t.encode()).hexdigest()[:8] for t in batch[ctx.cols.input_key]]}


class SplitWords(Generator):
    """One row per word of the first ``max_parts`` words (adds rows)."""

    input_key = InputColumn("text")
    output_key = OutputColumn("part")

    def __init__(self, max_parts: int = 2):
        super().__init__()
        self.max_parts = max_parts

    def generate(self, batch, ctx):
        parents, parts = [], []
        for i, text in enumerate(batch[ctx.cols.input_key].tolist()):
            for word in text.split()[: self.max_parts]:
                parents.append(i)
                parts.append(word)
        return pd.DataFrame({"_parent": parents, ctx.cols.output_key: parts})


class Explode(Refiner):
    """Raises on texts containing BOOM (a row the operator cannot process)."""

    def refine_text(self, text: str) -> str:
        if "BOOM" in text:
            raise ValueError(f"cannot handle {text[:20]!r}")
        return text


class ExactDedup(DatasetOperator):
    """Keeps the first row of each group of identical texts (a barrier)."""

    kind = "dedup"
    input_key = InputColumn("text")
    output_key = OutputColumn("dup_of")

    def scan(self, batch, ctx):
        hashes = [hashlib.md5(t.encode()).hexdigest() for t in batch[ctx.cols.input_key]]
        return list(zip(batch["_row_id"].tolist(), hashes))

    def decide(self, states):
        first: dict[str, str] = {}
        keep_of: dict[str, str] = {}
        for state in states:
            for row_id, h in state:
                keep_of[row_id] = first.setdefault(h, row_id)
        return keep_of

    def apply(self, batch, decision, ctx):
        kept = np.array([decision[r] for r in batch["_row_id"]], dtype=object)
        mask = kept == batch["_row_id"].to_numpy()
        out = batch.assign(**{ctx.cols.output_key: kept})
        return split_dropped(out, mask, [f"duplicate of row {k}" for k in kept], [ctx.cols.output_key])


class SetupCounter(Refiner):
    """Logs setup, every chunk and teardown (with the process id) to a file: lifecycle tests."""

    def __init__(self, log: str = ""):
        super().__init__()
        self.log = log

    def _write(self, what: str) -> None:
        import os

        with open(self.log, "a") as fh:
            fh.write(f"{what}:{os.getpid()}\n")

    def setup(self) -> None:
        self._write("setup")

    def teardown(self) -> None:
        self._write("teardown")

    def refine(self, values: pd.Series, ctx) -> pd.Series:
        self._write("chunk")
        return values
