"""SimHashDeduplicateFilter and NgramHashDeduplicateFilter: edge cases and cross-chunk pipeline runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import ParamsError
from dataflow.core.pipeline import Pipeline
from dataflow.operators.general_text.dedup.ngramhash import NgramHashDeduplicateFilter
from dataflow.operators.general_text.dedup.simhash import SimHashDeduplicateFilter

LONG = (
    "Permuted block tables make it practical to search billions of fingerprints for close neighbours. "
    "Every fingerprint is cut into blocks, and two fingerprints that differ in only a few bits must agree "
    "exactly on most blocks, so sorting by those blocks brings candidate neighbours next to each other. "
    "The candidates are then compared bit by bit, which is cheap because only a few remain after sorting."
)
OTHER = ("Tomatoes grow best in full sun with regular watering; pinch out the side shoots, tie the stems to "
         "canes and feed the plants every week once the first trusses of flowers have set fruit.")


def _docs(rng: random.Random, n: int) -> list[str]:
    words = [f"term{i}" for i in range(5000)]
    return [" ".join(rng.choices(words, k=80)) for _ in range(n)]


def test_simhash_dedup_small_edits():
    rows = [{"text": LONG}, {"text": OTHER}, {"text": LONG.replace("cheap", "inexpensive")},
            {"text": LONG.upper()}, {"text": OTHER[:40]}]
    s = DataFrameStorage(rows)
    SimHashDeduplicateFilter(max_distance=6).run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "2", "5"]
    dropped = pd.concat(s.dropped)
    assert dict(zip(dropped["_row_id"], dropped["simhash_cluster"])) == {"3": "1", "4": "1"}
    assert set(dropped["_drop_reason"]) == {"simhash duplicate (hamming <= 6)"}
    s = DataFrameStorage(rows)
    SimHashDeduplicateFilter(max_distance=0, mode="drop_all").run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["2", "3", "5"]  # exact-fingerprint group {1, 4} removed
    for bad in ({"bits": 65}, {"max_distance": 64}, {"max_distance": 3, "blocks": 3}):
        with pytest.raises(ParamsError):
            SimHashDeduplicateFilter(**bad)


def test_ngram_dedup_exact_jaccard_threshold():
    words = LONG.split()
    near = " ".join(words[:-1])  # last word dropped: Jaccard of word 3-grams = 54 / 55
    half = " ".join(words[: len(words) // 2])
    s = DataFrameStorage([{"text": LONG}, {"text": near}, {"text": half}, {"text": OTHER}])
    NgramHashDeduplicateFilter(threshold=0.95, ngram=3).run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "3", "4"]
    assert pd.concat(s.dropped)["ngram_cluster"].tolist() == ["1"]
    s = DataFrameStorage([{"text": LONG}, {"text": near}])
    NgramHashDeduplicateFilter(threshold=0.99, ngram=3).run(s, input_key="text")
    assert len(s.frame) == 2
    s = DataFrameStorage([{"text": LONG}, {"text": half}])
    NgramHashDeduplicateFilter(threshold=0.45, ngram=3).run(s, input_key="text")  # J = 26 / 57
    assert len(s.frame) == 1
    with pytest.raises(ParamsError):
        NgramHashDeduplicateFilter(threshold=0)


class _TwoDedups(Pipeline):
    def __init__(self, input, output, **kw):
        super().__init__(input, output, **kw)
        self.simhash = SimHashDeduplicateFilter()
        self.ngram = NgramHashDeduplicateFilter(threshold=0.7, ngram=2)

    def forward(self):
        self.simhash.run(self.storage, input_key="text")
        self.ngram.run(self.storage, input_key="text")


def test_simhash_and_ngram_across_chunks(tmp_path: Path):
    rng = random.Random(8)
    originals = _docs(rng, 15)
    exactish = [originals[2].upper(), originals[9] + " !!"]  # identical shingles: SimHash distance 0
    edited = []
    for k in (4, 13):  # 10 of 80 words replaced: word-bigram Jaccard ~0.6-0.8
        tokens = originals[k].split()
        for pos in range(0, 80, 16):
            tokens[pos] = "zz"
        edited.append(" ".join(tokens))
    docs = originals + exactish + edited
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in docs))
    summary = _TwoDedups(src, tmp_path / "out.jsonl", cache_dir=tmp_path / "c", chunk_size=5).run()
    assert summary["chunks"] == 4
    kept = [json.loads(line)["text"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert kept == originals
    sim_step, ngram_step = summary["steps"]
    assert sum(sim_step["dropped"].values()) == 2
    assert sum(ngram_step["dropped"].values()) == 2
    dropped = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "c").rglob("*.dropped.parquet")))
    sim = dropped[dropped["_step"] == 1]
    ngram = dropped[dropped["_step"] == 2]
    assert dict(zip(sim["_row_id"], sim["simhash_cluster"])) == {"16": "3", "17": "10"}
    assert dict(zip(ngram["_row_id"], ngram["ngram_cluster"])) == {"18": "5", "19": "14"}
