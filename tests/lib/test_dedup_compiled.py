"""The compiled dedup kernels (C, dataflow/lib/dedup/_kernels.c) give exactly what the numpy kernels give."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

from dataflow.lib import dedup as dk
from dataflow.lib.dedup import _compiled

if not _compiled.available() and not (shutil.which("cc") or shutil.which("gcc")):
    pytest.skip("no C compiler was there to build dataflow/lib/dedup/_kernels.c: only the numpy kernels exist",
                allow_module_level=True)


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["alpha", "Beta", "gamma,", "δέλτα", "日本語", "naïve", "x", "😀", "don't", "A.B", "  ", "\t", "\n"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 400))) for _ in range(count)]
    return texts + ["", "   ", "abc", "abcd", "a b c d e f", "!!!"]


@pytest.fixture
def numpy_only(monkeypatch):
    """Run the body with the compiled kernels disabled, and restore them after."""

    def run(fn):
        monkeypatch.setenv("DATAFLOW_NO_COMPILED", "1")
        _compiled.kernels.cache_clear()
        try:
            return fn()
        finally:
            monkeypatch.delenv("DATAFLOW_NO_COMPILED")
            _compiled.kernels.cache_clear()

    return run


@pytest.mark.parametrize("tokenize", ["char", "word"])
@pytest.mark.parametrize(("num_perm", "ngram", "normalize"), [(1, 5, True), (16, 1, True), (128, 5, True),
                                                              (128, 3, False), (250, 9, True)])
def test_minhash_signatures_are_identical(numpy_only, tokenize, num_perm, ngram, normalize):
    texts = _texts(300, seed=num_perm)
    assert _compiled.available(), "a C compiler is here, but the kernels were not built (pip install -e .)"
    kwargs = {"num_perm": num_perm, "ngram": ngram, "tokenize": tokenize, "normalize": normalize}
    compiled = dk.minhash_signatures(texts, **kwargs)
    reference = numpy_only(lambda: dk.minhash_signatures(texts, **kwargs))
    assert compiled.dtype == reference.dtype == np.uint32
    np.testing.assert_array_equal(compiled, reference)
    assert (compiled[texts.index("")] == dk.EMPTY_SIGNATURE_VALUE).all()


@pytest.mark.parametrize("tokenize", ["char", "word"])
@pytest.mark.parametrize("bits", [64, 32, 7])
def test_simhash_fingerprints_are_identical(numpy_only, tokenize, bits):
    texts = _texts(300, seed=bits)
    compiled = dk.simhash_fingerprints(texts, ngram=3, bits=bits, tokenize=tokenize)
    reference = numpy_only(lambda: dk.simhash_fingerprints(texts, ngram=3, bits=bits, tokenize=tokenize))
    np.testing.assert_array_equal(compiled, reference)
    assert len(set(compiled.tolist())) > 10  # not a constant


def test_minhash_spans_several_chunks(numpy_only, monkeypatch):
    """Documents are signed chunk by chunk (about 1M characters each): chunk borders change nothing."""
    from dataflow.lib.dedup import shingles

    monkeypatch.setattr(shingles, "_CHUNK_CODEPOINTS", 5000)
    texts = _texts(200, seed=3)
    compiled = dk.minhash_signatures(texts, tokenize="char")
    reference = numpy_only(lambda: dk.minhash_signatures(texts, tokenize="char"))
    np.testing.assert_array_equal(compiled, reference)
