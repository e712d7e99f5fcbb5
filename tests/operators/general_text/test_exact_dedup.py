"""ExactDeduplicateFilter: normalised-hash duplicates, eagerly and across chunks of a real pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import ParamsError
from dataflow.core.pipeline import Pipeline
from dataflow.operators.general_text.dedup.exact import ExactDeduplicateFilter


def test_exact_dedup_normalises_and_names_representative():
    rows = [
        {"text": "Hello, World!"},
        {"text": "something else"},
        {"text": "hello   world"},  # same as row 1 after normalisation
        {"text": "HELLO WORLD."},
        {"text": "Something else!"},
        {"text": "unique"},
    ]
    s = DataFrameStorage(rows)
    ExactDeduplicateFilter().run(s, input_key="text")
    assert s.frame["text"].tolist() == ["Hello, World!", "something else", "unique"]
    assert s.frame["exact_dup_cluster"].tolist() == ["1", "2", "6"]
    dropped = pd.concat(s.dropped)
    assert dropped["_row_id"].tolist() == ["3", "4", "5"]
    assert dropped["exact_dup_cluster"].tolist() == ["1", "1", "2"]
    assert set(dropped["_drop_reason"]) == {"exact duplicate"}
    assert s.metrics["ExactDeduplicateFilter"]["removed"] == 3


def test_exact_dedup_without_normalisation_and_drop_all():
    rows = [{"t": "a b"}, {"t": "A b"}, {"t": "a b"}, {"t": "c"}]
    s = DataFrameStorage(rows)
    ExactDeduplicateFilter(normalize=False).run(s, input_key="t")
    assert s.frame["t"].tolist() == ["a b", "A b", "c"]
    s = DataFrameStorage(rows)
    ExactDeduplicateFilter(normalize=False, mode="drop_all").run(s, input_key="t")
    assert s.frame["t"].tolist() == ["A b", "c"]
    assert pd.concat(s.dropped)["exact_dup_cluster"].tolist() == ["1", "1"]


def test_exact_dedup_missing_values_and_no_duplicates():
    s = DataFrameStorage([{"text": None}, {"text": ""}, {"text": "  "}, {"text": "x"}])
    ExactDeduplicateFilter().run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "4"]  # missing / empty / blank are one group
    s = DataFrameStorage([{"text": "a"}, {"text": "b"}])
    ExactDeduplicateFilter().run(s, input_key="text")
    assert len(s.frame) == 2 and not s.dropped
    with pytest.raises(ParamsError):
        ExactDeduplicateFilter(mode="keep_all")


class _ExactPipeline(Pipeline):
    def __init__(self, input, output, **kw):
        super().__init__(input, output, **kw)
        self.dedup = ExactDeduplicateFilter()

    def forward(self):
        self.dedup.run(self.storage, input_key="content")


def test_exact_dedup_across_chunks_in_pipeline(tmp_path: Path):
    texts = [f"document number {i}" for i in range(20)]
    texts += ["Document number 3!", "DOCUMENT NUMBER 17", "document number 0"]  # in later chunks
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"content": t}) + "\n" for t in texts))
    out = tmp_path / "out.jsonl"
    summary = _ExactPipeline(src, out, cache_dir=tmp_path / "cache", chunk_size=5, workers=2).run()
    assert summary["chunks"] == 5
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["content"] for r in kept] == texts[:20]
    assert [r["exact_dup_cluster"] for r in kept] == [str(i) for i in range(1, 21)]
    step = summary["steps"][0]
    assert step["dropped"] == {"exact duplicate": 3}
    assert step["metrics"]["removed"] == 3
    dropped = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "cache").rglob("*.dropped.parquet")))
    assert dict(zip(dropped["_row_id"], dropped["exact_dup_cluster"])) == {"21": "4", "22": "18", "23": "1"}
