"""In-process GPU engines: vLLM (``backend: vllm``) and SGLang (``backend: sglang``).

Both are imported only when a backend object first runs, so neither package is needed to import
DataFlow. A batch is handed to the engine in one call (the engines schedule it themselves);
chat templates come from the model's tokenizer; JSON schemas use each engine's guided decoding.
``engine_args`` are passed to ``vllm.LLM(...)`` / ``sglang.Engine(...)`` unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

from dataflow.serving.base import Call, LLMServing, RawCompletion
from dataflow.serving.cache import ResponseCache


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class _EngineServing(LLMServing):
    package = ""

    def __init__(
        self,
        model: str,
        engine_args: dict | None = None,
        max_concurrency: int | None = None,
        cache: ResponseCache | None = None,
        prices: dict | None = None,
        repair_tries: int = 2,
    ) -> None:
        super().__init__(model=model, cache=cache, prices=prices, repair_tries=repair_tries)
        self.engine_args = dict(engine_args or {})
        self.max_concurrency = max_concurrency
        self._engine: Any = None
        self._lock = threading.Lock()

    def _identity(self) -> dict:
        return {"backend": self.backend, "model": self.model, "engine_args": self.engine_args}

    def _import(self) -> Any:
        try:
            return __import__(self.package)
        except ImportError:
            raise ImportError(f"the {self.backend} backend needs the {self.package} package "
                              f"(pip install {self.package}) and a GPU") from None

    def _complete_batch(self, calls: list[Call]) -> list[RawCompletion]:
        with self._lock:
            try:
                return self._run(calls)
            except ImportError as exc:
                return [RawCompletion(error=str(exc)) for _ in calls]

    def _run(self, calls: list[Call]) -> list[RawCompletion]:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            shutdown = getattr(engine, "shutdown", None)
            if callable(shutdown):
                shutdown()
        super().close()


class VLLMServing(_EngineServing):
    backend = "vllm"
    package = "vllm"

    def _run(self, calls: list[Call]) -> list[RawCompletion]:
        vllm = self._import()
        if self._engine is None:
            self._engine = vllm.LLM(model=self.model, **self.engine_args)
        tokenizer = self._engine.get_tokenizer()
        prompts = [
            tokenizer.apply_chat_template(c.messages, tokenize=False, add_generation_prompt=True)
            for c in calls
        ]
        params = [self._sampling_params(vllm, c) for c in calls]
        outputs = self._engine.generate(prompts, params, use_tqdm=False)
        raws = []
        for output in outputs:
            completion = output.outputs[0]
            raws.append(RawCompletion(
                text=completion.text,
                tokens_in=len(output.prompt_token_ids or []),
                tokens_out=len(completion.token_ids),
                finish_reason=completion.finish_reason,
            ))
        return raws

    @staticmethod
    def _sampling_params(vllm: Any, call: Call) -> Any:
        extra: dict[str, Any] = {}
        if call.schema is not None:
            from vllm.sampling_params import GuidedDecodingParams

            extra["guided_decoding"] = GuidedDecodingParams(json=call.schema)
        return vllm.SamplingParams(
            temperature=call.temperature, top_p=call.top_p, max_tokens=call.max_tokens,
            seed=call.seed, stop=call.stop, **extra,
        )


class SGLangServing(_EngineServing):
    backend = "sglang"
    package = "sglang"

    def _run(self, calls: list[Call]) -> list[RawCompletion]:
        import json

        sglang = self._import()
        if self._engine is None:
            self._engine = sglang.Engine(model_path=self.model, **self.engine_args)
        tokenizer = self._engine.tokenizer_manager.tokenizer
        prompts = [
            tokenizer.apply_chat_template(c.messages, tokenize=False, add_generation_prompt=True)
            for c in calls
        ]
        params = []
        for c in calls:
            p: dict[str, Any] = {"temperature": c.temperature, "top_p": c.top_p,
                                 "max_new_tokens": c.max_tokens}
            if c.stop:
                p["stop"] = c.stop
            if c.schema is not None:
                p["json_schema"] = json.dumps(c.schema)
            params.append(p)
        outputs = self._engine.generate(prompt=prompts, sampling_params=params)
        raws = []
        for output in outputs:
            meta = output.get("meta_info", {})
            finish = meta.get("finish_reason") or {}
            raws.append(RawCompletion(
                text=output.get("text"),
                tokens_in=int(meta.get("prompt_tokens") or 0),
                tokens_out=int(meta.get("completion_tokens") or 0),
                finish_reason=finish.get("type") if isinstance(finish, dict) else finish,
            ))
        return raws
