"""vLLM / SGLang in-process backends: run only with a GPU and the package installed."""

from __future__ import annotations

import importlib.util

import pytest

from dataflow.serving import create_serving
from dataflow.serving.gpu_engines import gpu_available

pytestmark = pytest.mark.gpu

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


@pytest.mark.parametrize("backend", ["vllm", "sglang"])
def test_engine_generates_and_follows_schema(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install {backend})")
    if not gpu_available():
        pytest.skip(f"{backend} needs a CUDA GPU; none is visible")
    llm = create_serving({"backend": backend, "model": "Qwen/Qwen2.5-0.5B-Instruct",
                          "cache": str(tmp_path / "c.sqlite")})
    try:
        free, constrained = llm.chat(["Say hello."], max_tokens=16) + llm.chat(
            ["What is 2+3? Reply in JSON."], json_schema=SCHEMA, max_tokens=32)
        assert free.ok and free.text.strip()
        assert constrained.ok and constrained.parsed["answer"] == 5
    finally:
        llm.close()


@pytest.mark.parametrize("backend", ["vllm", "sglang"])
def test_missing_engine_package_is_an_error_result_not_a_crash(backend):
    if importlib.util.find_spec(backend) is not None:
        pytest.skip(f"{backend} is installed")
    llm = create_serving({"backend": backend, "model": "any", "cache": False})
    [result] = llm.chat(["hi"])
    assert not result.ok and f"pip install {backend}" in result.error
