"""Fixtures shared across test packages."""

from __future__ import annotations

import pytest


@pytest.fixture
def real_llm():
    """The default embedded model with no response cache, so every call really reaches it; skips with the
    reason when the runtime or the weights are not installed."""
    from tests.serving.conftest import _embedded_unavailable

    reason = _embedded_unavailable()
    if reason:
        pytest.skip(f"embedded model unavailable: {reason}")
    from dataflow.serving import create_serving

    serving = create_serving({"cache": False})
    yield serving
    serving.close()
