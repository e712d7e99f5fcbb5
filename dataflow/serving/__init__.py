"""LLM serving layer: one interface (``LLMServing``) over an embedded llama.cpp model, any
OpenAI-compatible server, and in-process vLLM/SGLang engines.

    from dataflow.serving import create_serving, LLMRequest
    llm = create_serving()                      # embedded Qwen2.5-Coder-1.5B, cached responses
    llm.chat(["Say hi"], max_tokens=16)[0].text

Importing this package is cheap: llama_cpp, httpx and the GPU engines load on first use.
"""

from __future__ import annotations

from dataflow.serving.base import LLMRequest, LLMResult, LLMServing, ServingStats
from dataflow.serving.factory import check_config, create_serving

__all__ = ["LLMRequest", "LLMResult", "LLMServing", "ServingStats", "check_config", "create_serving"]

# The reference DataFlow's serving classes (dataflow.compat.serving), loaded on first use.
_REFERENCE_NAMES = ("APILLMServing_request", "LocalModelLLMServing_vllm")


def __getattr__(name: str):
    if name in _REFERENCE_NAMES:
        from dataflow.compat import serving

        return getattr(serving, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
