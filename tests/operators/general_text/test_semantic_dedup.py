"""SemDeduplicateFilter (alias SemHashDeduplicateFilter): clusters by embedding cosine similarity."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import ParamsError
from dataflow.core.pipeline import Pipeline
from dataflow.operators.general_text.dedup.semantic import SemDeduplicateFilter, SemHashDeduplicateFilter


class BagOfWordsEmbedder:
    """A small deterministic embedder: hashed word counts (crc32), so reworded texts stay close.

    Stands in for the sentence-transformer model: the operator only needs ``embed(texts) -> (n, d)``.
    """

    dim = 256

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.strip(".,!?").encode()) % self.dim] += 1.0
        return out


TEXTS = [
    "the cat sat on the mat in the warm kitchen",
    "stock markets fell sharply on monday after the report",
    "the cat sat on the mat in the warm kitchen today",  # near copy of 1
    "",  # zero vector: matches nothing
    "Stock markets fell sharply on Monday after the report!",  # same words as 2
    "a recipe for lemon cake with poppy seeds",
]


def test_semantic_dedup_clusters_by_cosine():
    embedder = BagOfWordsEmbedder()
    s = DataFrameStorage([{"text": t} for t in TEXTS])
    SemDeduplicateFilter(eps=0.1, batch_size=4, embedder=embedder).run(s, input_key="text")
    assert embedder.calls == [4, 2]
    assert s.frame["_row_id"].tolist() == ["1", "2", "4", "6"]
    dropped = pd.concat(s.dropped)
    assert dict(zip(dropped["_row_id"], dropped["semantic_cluster"])) == {"3": "1", "5": "2"}
    assert set(dropped["_drop_reason"]) == {"semantic duplicate (cosine >= 0.9)"}
    # eps = 0: only identical directions (rows 2 and 5) are merged.
    s = DataFrameStorage([{"text": t} for t in TEXTS])
    SemHashDeduplicateFilter(eps=0.0, embedder=BagOfWordsEmbedder(), mode="drop_all").run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "3", "4", "6"]
    with pytest.raises(ParamsError):
        SemDeduplicateFilter(eps=-0.1)


class _SemPipeline(Pipeline):
    def __init__(self, input, output, embedder, **kw):
        super().__init__(input, output, **kw)
        self.dedup = SemDeduplicateFilter(eps=0.1, embedder=embedder)

    def forward(self):
        self.dedup.run(self.storage, input_key="text")


def test_semantic_dedup_across_chunks(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    out = tmp_path / "out.jsonl"
    summary = _SemPipeline(src, out, BagOfWordsEmbedder(), cache_dir=tmp_path / "c", chunk_size=2).run()
    assert summary["chunks"] == 3
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in kept] == [TEXTS[i] for i in (0, 1, 3, 5)]
    assert summary["steps"][0]["metrics"]["removed"] == 2


@pytest.mark.slow
def test_semantic_dedup_with_the_default_embedder():
    """Uses the pipeline's default embedder (the optional embedding model); skipped when unavailable."""
    try:
        from dataflow.serving.embeddings import create_embedder

        embedder = create_embedder()
        embedder.embed(["probe"])
    except Exception as exc:  # noqa: BLE001 - any failure means the optional model is not usable here
        pytest.skip(f"no default embedder available ({type(exc).__name__}: {exc})")
    rows = [{"text": "How do I reset my password?"}, {"text": "The weather is sunny at the coast."},
            {"text": "How can I reset my password?"}]
    s = DataFrameStorage(rows)
    SemDeduplicateFilter(eps=0.1).run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "2"]
