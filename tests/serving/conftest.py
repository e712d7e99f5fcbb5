"""Shared fixtures for the serving tests: one embedded model per test session."""

from __future__ import annotations

import pytest


def _embedded_unavailable() -> str | None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return 'llama-cpp-python not installed (CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python==0.3.36)'
    from dataflow.serving.model_files import MODELS, ModelPartsMissing, part_paths

    try:
        part_paths(MODELS["qwen2.5-coder-1.5b"])
    except ModelPartsMissing as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def embedded_llm():
    """The default embedded backend, loaded once, with no response cache (tests that need one
    wrap its engine in their own ``EmbeddedServing``)."""
    reason = _embedded_unavailable()
    if reason:
        pytest.skip(f"embedded model unavailable: {reason}")
    from dataflow.serving.embedded import EmbeddedServing

    llm = EmbeddedServing(cache=None).load()
    yield llm
    llm.close()
