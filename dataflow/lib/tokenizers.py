"""Token counting with a real model vocabulary, offline: a GGUF file through llama.cpp (``vocab_only``:
no weights are loaded, well under a second) or a Hugging Face ``tokenizer.json`` (``tokenizers``).

:func:`open_tokenizer` takes a file path; ``dataflow.serving.model_files.load_tokenizer`` resolves the name
of an embedded model to its GGUF first. Both tokenizers have ``count(texts) -> np.ndarray`` (special
tokens not added).
"""

from __future__ import annotations

import atexit
import threading
from functools import lru_cache
from typing import Any

import numpy as np


class GGUFTokenizer:
    """The vocabulary of a GGUF model through llama.cpp (``vocab_only``: no weights are loaded)."""

    def __init__(self, path: str) -> None:
        from llama_cpp import Llama

        self._model = Llama(model_path=path, vocab_only=True, verbose=False)
        self._lock = threading.Lock()
        # Freed before the interpreter unloads llama.cpp: a Llama object left to its finalizer at exit
        # calls into a library that is already gone.
        atexit.register(self._model.close)

    def count(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.array([len(self._model.tokenize(t.encode("utf-8"), add_bos=False, special=False))
                             for t in texts], dtype=np.int64)


class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` through the ``tokenizers`` package (batch-encoded in Rust)."""

    def __init__(self, path: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(path)

    def count(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return np.array([len(e.ids) for e in encodings], dtype=np.int64)


@lru_cache(maxsize=4)
def open_tokenizer(path: str) -> Any:
    """The tokenizer in ``path``: a ``tokenizer.json``, or any other file as a GGUF model (cached)."""
    return HFTokenizer(path) if path.endswith(".json") else GGUFTokenizer(path)
