"""The reference DataFlow's serving classes, as our backends.

``APILLMServing_request(api_url, model_name, max_workers, ...)`` is our OpenAI-compatible backend
(retries, Retry-After, JSON-schema answers, the response cache, so a re-run asks nothing twice);
``LocalModelLLMServing_vllm(...)`` our in-process vLLM backend. Both keep the reference's
``generate_from_input(user_inputs, system_prompt)`` for code that calls a serving directly.
"""

from __future__ import annotations

from typing import Any

from dataflow.serving.base import LLMServing
from dataflow.serving.openai_compat import OpenAIServing


def _generate_from_input(serving: LLMServing, user_inputs: list[str], system_prompt: str = "", **_: Any
                         ) -> list[str | None]:
    """The reference's call: one answer text per input (None where the call failed)."""
    results = serving.chat(list(user_inputs), system=system_prompt or None)
    return [r.text if r.ok else None for r in results]


class APILLMServing_request(OpenAIServing):  # noqa: N801 - the reference's name
    """An OpenAI-compatible chat completions endpoint, under the reference's constructor.

    ``api_url`` is the full ``.../chat/completions`` URL (as in the reference) or the base URL; the key
    is read from the environment variable ``key_name_of_api_key``; ``max_workers`` bounds the concurrent
    requests; ``read_timeout`` is the request timeout. ``temperature`` (and the reference's other
    sampling ``configs``) are the operators' business here: each LLM operator has its own
    ``temperature`` param, so one serving can back steps sampled differently."""

    def __init__(self, api_url: str = "https://api.openai.com/v1/chat/completions",
                 key_name_of_api_key: str = "DF_API_KEY", model_name: str = "gpt-4o", temperature: float = 0.0,
                 max_workers: int = 10, max_retries: int = 5, connect_timeout: float = 10.0,
                 read_timeout: float = 120.0, **configs: Any) -> None:
        from dataflow.serving.cache import open_cache

        base = api_url.rstrip("/")
        base = base[: -len("/chat/completions")] if base.endswith("/chat/completions") else base
        super().__init__(model=model_name, base_url=base, api_key_env=key_name_of_api_key,
                         max_concurrency=max_workers, max_retries=max_retries, timeout_s=read_timeout,
                         cache=open_cache(True))

    generate_from_input = _generate_from_input


def LocalModelLLMServing_vllm(hf_model_name_or_path: str | None = None, hf_cache_dir: str | None = None,  # noqa: N802
                              hf_local_dir: str | None = None, vllm_tensor_parallel_size: int = 1,
                              vllm_temperature: float = 0.7, vllm_top_p: float = 0.9, vllm_max_tokens: int = 1024,
                              vllm_top_k: int = 40, vllm_repetition_penalty: float = 1.0,
                              vllm_seed: int | None = None, vllm_max_model_len: int | None = None,
                              vllm_gpu_memory_utilization: float = 0.9) -> LLMServing:
    """The reference's local vLLM serving: our in-process vLLM backend with the same engine settings
    (model, parallelism, context length, memory share, download folder, seed). The sampling settings
    (``vllm_temperature``, ``vllm_max_tokens``, ...) are the operators' params here, as with
    :class:`APILLMServing_request`."""
    from dataflow.serving import create_serving

    model = hf_local_dir or hf_model_name_or_path
    if not model:
        raise ValueError("LocalModelLLMServing_vllm: give hf_model_name_or_path (or hf_local_dir)")
    engine_args: dict[str, Any] = {"tensor_parallel_size": vllm_tensor_parallel_size,
                                   "gpu_memory_utilization": vllm_gpu_memory_utilization}
    for key, value in (("max_model_len", vllm_max_model_len), ("download_dir", hf_cache_dir),
                       ("seed", vllm_seed)):
        if value is not None:
            engine_args[key] = value
    serving = create_serving({"backend": "vllm", "model": model, "engine_args": engine_args})
    serving.generate_from_input = _generate_from_input.__get__(serving)
    return serving
