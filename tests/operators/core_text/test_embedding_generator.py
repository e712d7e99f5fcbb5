from __future__ import annotations

import numpy as np
import pytest

from dataflow.core.pipeline import Pipeline
from dataflow.serving.fake_server import FakeOpenAIServer
from tests.core.conftest import read_jsonl, write_jsonl

TEXTS = ["the cat sat on the mat", "a cat sat on a mat", "stock markets fell sharply today", "the cat sat"]


def run_pipeline(tmp_path, embedder):
    write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS])
    spec = {"input": str(tmp_path / "in.jsonl"), "output": str(tmp_path / "out.jsonl"),
            "cache_dir": str(tmp_path / "cache"), "embedder": embedder,
            "steps": [{"op": "EmbeddingGenerator", "params": {"batch_size": 3}, "run": {"output_key": "vec"}}]}
    Pipeline.from_spec(spec).run(progress=False)
    return np.array([r["vec"] for r in read_jsonl(tmp_path / "out.jsonl")])


def test_embeddings_from_an_openai_compatible_endpoint_land_in_order_and_normalised(tmp_path):
    with FakeOpenAIServer() as server:
        vecs = run_pipeline(tmp_path, {"backend": "openai", "base_url": server.base_url, "model": "emb"})
    assert vecs.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    sims = vecs @ vecs.T
    # batches of 3 and 1, each answered out of order by the server: rows must still match their texts
    assert sims[0, 3] > sims[0, 2] and sims[0, 1] > sims[0, 2]


@pytest.mark.slow
def test_packaged_minilm_embeds_paraphrases_close(tmp_path):
    pytest.importorskip("sentence_transformers", reason="the embeddings extra is not installed")
    vecs = run_pipeline(tmp_path, None)
    assert vecs.shape == (4, 384)
    sims = vecs @ vecs.T
    assert sims[0, 1] > 0.8 and sims[0, 2] < 0.3
