"""MinHashDeduplicateFilter: edge cases, cross-chunk runs, and recall on planted near duplicates."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import ParamsError
from dataflow.core.pipeline import Pipeline
from dataflow.lib import dedup as dk
from dataflow.operators.general_text.dedup.minhash import (
    MinHashDeduplicateFilter,
    default_verify_threshold,
    recall_banding,
)

from .helpers import hotpot_paragraphs as _hotpot_paragraphs

BASE = ("The river rises in the northern hills and flows south through three market towns before it "
        "reaches the sea near the old harbour, where a lighthouse has stood since the eighteenth century.")
OTHER = ("A recipe for bread needs flour, water, salt and yeast; the dough rests overnight in a cool "
         "place and is baked in a very hot oven until the crust turns deep brown and sounds hollow.")


def test_recall_banding_and_verify_defaults():
    assert recall_banding(0.8, 128) == (21, 6)
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = recall_banding(threshold, 128)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.99
        # One more row per band would miss the target: the banding is as selective as allowed.
        more = 128 // (rows + 1)
        assert 1 - (1 - threshold ** (rows + 1)) ** more < 0.99
    assert default_verify_threshold(0.8, 128) == pytest.approx(0.7293, abs=1e-4)
    op = MinHashDeduplicateFilter()
    assert (op.bands, op.rows) == (21, 6)
    assert MinHashDeduplicateFilter(bands=16, rows=8).bands == 16


def test_minhash_params_are_validated():
    for bad in ({"threshold": 1.0}, {"bands": 4}, {"bands": 20, "rows": 7}, {"tokenize": "sentence"},
                {"mode": "all"}, {"num_perm": 0}):
        with pytest.raises(ParamsError):
            MinHashDeduplicateFilter(**bad)


def test_minhash_dedup_small_edits_and_unrelated():
    rows = [
        {"text": BASE},
        {"text": OTHER},
        {"text": BASE.replace("three", "two").upper()},  # near copy of row 1
        {"text": BASE[: len(BASE) // 2]},  # half of it: Jaccard ~0.5, kept
        {"text": OTHER.replace("brown", "browm")},  # near copy of row 2
        {"text": ""},
        {"text": None},  # empty documents are duplicates of each other only
    ]
    s = DataFrameStorage(rows)
    MinHashDeduplicateFilter().run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["1", "2", "4", "6"]
    assert s.frame["minhash_cluster"].tolist() == ["1", "2", "4", "6"]
    dropped = pd.concat(s.dropped)
    assert dict(zip(dropped["_row_id"], dropped["minhash_cluster"])) == {"3": "1", "5": "2", "7": "6"}
    assert set(dropped["_drop_reason"]) == {"minhash duplicate (jaccard >= 0.8)"}
    metrics = s.metrics["MinHashDeduplicateFilter"]
    assert metrics["removed"] == 3 and metrics["linked_pairs"] >= 3


def test_minhash_drop_all_word_shingles_and_strict_verification():
    rows = [{"text": BASE}, {"text": OTHER}, {"text": BASE + " Indeed."}]
    s = DataFrameStorage(rows)
    MinHashDeduplicateFilter(mode="drop_all", tokenize="word", ngram=3).run(s, input_key="text")
    assert s.frame["_row_id"].tolist() == ["2"]
    # A pair just below the threshold: linked with the default verification bound, not with a strict one.
    texts = [BASE, BASE.replace("market", "small").replace("lighthouse", "tower")]
    sig = dk.minhash_signatures(texts, num_perm=128, ngram=5, tokenize="char")
    estimate = (sig[0] == sig[1]).mean()
    assert 0.73 <= estimate < 0.8, estimate
    s = DataFrameStorage([{"text": t} for t in texts])
    MinHashDeduplicateFilter(bands=32, rows=4).run(s, input_key="text")
    assert len(s.frame) == 1
    s = DataFrameStorage([{"text": t} for t in texts])
    MinHashDeduplicateFilter(bands=32, rows=4, verify_threshold=0.8).run(s, input_key="text")
    assert len(s.frame) == 2


class _MinHashPipeline(Pipeline):
    def __init__(self, input, output, **kw):
        super().__init__(input, output, **kw)
        self.dedup = MinHashDeduplicateFilter(threshold=0.8)

    def forward(self):
        self.dedup.run(self.storage, input_key="body")


def _run(docs: list[str], tmp_path: Path, chunk_size: int) -> tuple[dict, list[dict], pd.DataFrame]:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"body": t}) + "\n" for t in docs))
    out = tmp_path / "out.jsonl"
    summary = _MinHashPipeline(src, out, cache_dir=tmp_path / "cache", chunk_size=chunk_size, workers=2).run()
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    files = sorted((tmp_path / "cache").rglob("*.dropped.parquet"))
    dropped = pd.concat(pd.read_parquet(p) for p in files) if files else pd.DataFrame(
        columns=["_row_id", "minhash_cluster"])
    return summary, kept, dropped


def test_minhash_finds_duplicates_across_chunks(tmp_path: Path):
    rng = random.Random(3)
    words = [f"word{i}" for i in range(3000)]
    originals = [" ".join(rng.choices(words, k=60)) for _ in range(12)]
    docs = list(originals)
    for k in (0, 5, 11):  # near copies (one word changed) land in later chunks
        tokens = originals[k].split()
        tokens[30] = "changed"
        docs.append(" ".join(tokens))
    summary, kept, dropped = _run(docs, tmp_path, chunk_size=4)
    assert summary["chunks"] == 4
    assert [r["body"] for r in kept] == originals
    assert dict(zip(dropped["_row_id"], dropped["minhash_cluster"])) == {"13": "1", "14": "6", "15": "12"}
    assert summary["steps"][0]["dropped"] == {"minhash duplicate (jaccard >= 0.8)": 3}


# ---------------------------------------------------------------------------------------------- acceptance
def _char_edits(text: str, rate: float, rng: random.Random) -> str:
    """round(rate * len) random character substitutions, insertions and deletions."""
    chars = list(text)
    alphabet = "abcdefghijklmnopqrstuvwxyz "
    for _ in range(max(1, round(rate * len(chars)))):
        pos, op = rng.randrange(len(chars)), rng.random()
        if op < 0.5:
            chars[pos] = rng.choice(alphabet)
        elif op < 0.75:
            chars.insert(pos, rng.choice(alphabet))
        else:
            del chars[pos]
    return "".join(chars)


def _char_shingles(text: str, n: int = 5) -> set[str]:
    """The operator's shingles (normalised text, character 5-grams), written out independently."""
    norm = dk.normalize_for_hash([text])[0]
    return {norm[i : i + n] for i in range(max(1, len(norm) - n + 1))} if norm else set()


def test_minhash_operator_recall_on_planted_near_duplicates(tmp_path: Path):
    """~1,000 unique 3-paragraph Wikipedia documents and two planted copies of each.

    Copies have 2-5% random character edits, and half of them shuffled paragraphs. Only copies whose
    true Jaccard with their original (on the operator's shingles) is >= 0.8 count for recall; the
    operator must find >= 95% of them and remove < 1% of the unique documents.
    """
    paragraphs = _hotpot_paragraphs()
    rng = random.Random(11)
    rng.shuffle(paragraphs)
    groups = [paragraphs[i : i + 3] for i in range(0, len(paragraphs) - 2, 3)]
    unique_docs = ["\n\n".join(g) for g in groups]
    planted, source = [], []
    for i, group in enumerate(groups):
        for _ in range(2):
            order = list(group)
            if rng.random() < 0.5:
                rng.shuffle(order)
            planted.append(_char_edits("\n\n".join(order), rng.uniform(0.02, 0.05), rng))
            source.append(i)
    order = list(range(len(planted)))
    rng.shuffle(order)  # copies spread over all chunks after the originals
    planted, source = [planted[k] for k in order], [source[k] for k in order]
    n_unique = len(unique_docs)
    shingles = [_char_shingles(d) for d in unique_docs]
    true_j = np.array([len(shingles[s] & (p := _char_shingles(c))) / len(shingles[s] | p)
                       for s, c in zip(source, planted)])
    counted = true_j >= 0.8
    assert counted.sum() >= 150, counted.sum()

    summary, kept, dropped = _run(unique_docs + planted, tmp_path, chunk_size=1000)
    assert summary["chunks"] >= 3
    rep = dict(zip(dropped["_row_id"].astype(int) - 1, dropped["minhash_cluster"].astype(int) - 1))
    found = np.array([rep.get(n_unique + k) == s for k, s in enumerate(source)])
    recall = found[counted].mean()
    unique_removed = sum(1 for row in rep if row < n_unique) / n_unique
    assert recall >= 0.95, recall
    assert unique_removed < 0.01, unique_removed
    # Verification keeps copies far below the threshold apart.
    assert found[true_j < 0.65].mean() < 0.05, found[true_j < 0.65].mean()
    print(f"recall@0.8={recall:.3f} ({counted.sum()} pairs) unique_removed={unique_removed:.4f}")
