"""The ``LLMServing`` base class shared by every backend (the request/result types it serves,
``LLMRequest`` and ``LLMResult``, live in :mod:`dataflow.core.llm_types` and are re-exported here).

A backend only has to turn a batch of fully-resolved chat calls into raw completions
(``_complete_batch`` or ``_acomplete_batch``). Everything that must behave the same on every
backend lives here: the response cache, JSON-schema validation with a bounded repair loop,
statistics, and the sync/async entry points. A call never raises because one answer was bad:
the failure is reported in that result's ``error``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import json
import threading
import time
from abc import ABC
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dataflow.core.llm_types import LLMRequest, LLMResult
from dataflow.serving.schema import check_json_output, normalize_schema, repair_message

if TYPE_CHECKING:
    from dataflow.serving.cache import ResponseCache

__all__ = ["Call", "LLMRequest", "LLMResult", "LLMServing", "RawCompletion", "ServingStats"]

DEFAULT_REPAIR_TRIES = 2


@dataclass
class ServingStats:
    """Counters of a serving object; diff two ``snapshot()`` values to cost one step."""

    requests: int = 0  # backend calls actually made (repairs included, cache hits excluded)
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    errors: int = 0  # results returned with ``error`` set
    seconds: float = 0.0  # wall time spent inside generate/agenerate
    retries: int = 0  # transport-level retries (HTTP backends)
    repairs: int = 0  # extra calls made to fix schema-invalid output
    cost: float = 0.0  # from config["prices"], in the prices' currency

    def snapshot(self) -> ServingStats:
        return copy.copy(self)

    def __sub__(self, other: ServingStats) -> ServingStats:
        return ServingStats(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in dataclasses.fields(self)}
        )


@dataclass
class RawCompletion:
    """What a backend returns for one call, before validation."""

    text: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    latency_s: float | None = None  # this call's own time, when the backend measures it


@dataclass
class Call:
    """A request resolved for a backend: final messages, schema dict, sampling parameters."""

    messages: list[dict]
    schema: dict | None
    temperature: float
    max_tokens: int
    top_p: float
    seed: int | None
    stop: list[str] | None = None
    extra: dict = field(default_factory=dict)

    def sampling(self) -> dict:
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": self.stop,
        }


class LLMServing(ABC):  # noqa: B024 - a backend overrides _complete_batch or _acomplete_batch
    """Base of all backends. Subclasses implement ``_complete_batch`` (blocking) or
    ``_acomplete_batch`` (async) and ``_identity`` (what goes into ``fingerprint``)."""

    backend: str = "base"

    def __init__(
        self,
        model: str,
        cache: ResponseCache | None = None,
        prices: dict | None = None,
        repair_tries: int = DEFAULT_REPAIR_TRIES,
    ) -> None:
        self.model = model
        self.cache = cache
        self.prices = prices or {}
        self.repair_tries = repair_tries
        self.stats = ServingStats()
        self._stats_lock = threading.Lock()

    # ---- what subclasses provide -------------------------------------------------------------
    def _identity(self) -> dict:
        """Everything that changes outputs besides the request itself."""
        return {"backend": self.backend, "model": self.model}

    def _complete_batch(self, calls: list[Call]) -> list[RawCompletion]:
        raise NotImplementedError

    async def _acomplete_batch(self, calls: list[Call]) -> list[RawCompletion]:
        return await asyncio.to_thread(self._complete_batch, calls)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # ---- public API --------------------------------------------------------------------------
    def fingerprint(self) -> str:
        blob = json.dumps(self._identity(), sort_keys=True, default=str)
        return f"{self.backend}:{self.model}:{hashlib.sha256(blob.encode()).hexdigest()[:16]}"

    def generate(self, requests: list[LLMRequest]) -> list[LLMResult]:
        """Run ``requests`` (concurrently inside the backend); results come back in input order."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agenerate(requests))
        # Called from inside an event loop: run ours on a private thread instead of nesting.
        box: list[Any] = []

        def run() -> None:
            try:
                box.append(asyncio.run(self.agenerate(requests)))
            except BaseException as exc:  # re-raised in the caller's thread
                box.append(exc)

        worker = threading.Thread(target=run, name="dataflow-serving")
        worker.start()
        worker.join()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def chat(
        self,
        prompts: list[str],
        system: str | None = None,
        json_schema: Any = None,
        **sampling: Any,
    ) -> list[LLMResult]:
        return self.generate(
            [LLMRequest(prompt=p, system=system, json_schema=json_schema, **sampling) for p in prompts]
        )

    async def agenerate(self, requests: list[LLMRequest]) -> list[LLMResult]:
        started = time.perf_counter()
        results: list[LLMResult | None] = [None] * len(requests)
        calls: dict[int, Call] = {}
        keys: dict[int, str] = {}
        first_of_key: dict[str, int] = {}
        duplicates: dict[int, int] = {}  # index -> index of the identical earlier request

        for i, request in enumerate(requests):
            try:
                call = self._resolve(request)
            except Exception as exc:  # a malformed request fails alone
                results[i] = LLMResult(error=f"invalid request: {exc}")
                continue
            calls[i] = call
            if self.cache is None:
                continue
            key = self.cache_key(call)
            keys[i] = key
            if key in first_of_key:
                duplicates[i] = first_of_key[key]
                continue
            first_of_key[key] = i
            hit = self.cache.get(key)
            if hit is not None:
                results[i] = LLMResult(**hit, cached=True, latency_s=0.0)
                self._count(cache_hits=1)

        pending = [i for i in calls if results[i] is None and i not in duplicates]
        # Slices, each cached as soon as it is answered: a run killed in the middle of a big batch
        # keeps what was already paid for, and resuming replays it from the cache.
        size = self.cache_slice_size()
        for start in range(0, len(pending), size):
            part = pending[start:start + size]
            fresh = await self._run_with_repair([calls[i] for i in part])
            for i, result in zip(part, fresh):
                results[i] = result
                if result.ok and self.cache is not None:
                    self.cache.put(keys[i], _cacheable(result))

        for i, source in duplicates.items():
            original = results[source]
            assert original is not None
            results[i] = dataclasses.replace(original, cached=original.ok, latency_s=0.0)
            if original.ok:
                self._count(cache_hits=1)

        final = [r if r is not None else LLMResult(error="internal: no result produced") for r in results]
        self._count(errors=sum(1 for r in final if not r.ok), seconds=time.perf_counter() - started)
        return final

    def cache_slice_size(self) -> int:
        """Requests sent per slice of a batch: 16 rounds of the backend's parallelism, so the wait for
        a slice's slowest request costs a few percent, while a crash loses at most one slice."""
        width = getattr(self, "max_concurrency", None) or getattr(self, "parallel", None) or 4
        return max(64, 16 * int(width))

    def cache_key(self, call: Call) -> str:
        blob = json.dumps(
            {
                "serving": self.fingerprint(),
                "messages": call.messages,
                "schema": call.schema,
                **call.sampling(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    # ---- internals ---------------------------------------------------------------------------
    def _resolve(self, request: LLMRequest) -> Call:
        return Call(
            messages=request.chat_messages(),
            schema=normalize_schema(request.json_schema),
            temperature=float(request.temperature),
            max_tokens=int(request.max_tokens),
            top_p=float(request.top_p),
            seed=request.seed,
            stop=list(request.stop) if request.stop else None,
        )

    async def _run_with_repair(self, calls: list[Call]) -> list[LLMResult]:
        """Run ``calls``; schema-invalid answers are sent back with the error, at most
        ``repair_tries`` times, then reported as errors."""
        results: list[LLMResult | None] = [None] * len(calls)
        current = list(calls)
        todo = list(range(len(calls)))
        spent = [0.0] * len(calls)
        totals = [[0, 0] for _ in calls]
        for attempt in range(self.repair_tries + 1):
            started = time.perf_counter()
            raws = await self._timed_batch([current[i] for i in todo])
            elapsed = time.perf_counter() - started
            if attempt:
                self._count(repairs=len(todo))
            retry: list[int] = []
            for i, raw in zip(todo, raws):
                spent[i] += raw.latency_s if raw.latency_s is not None else elapsed
                totals[i][0] += raw.tokens_in
                totals[i][1] += raw.tokens_out
                result = LLMResult(
                    text=raw.text,
                    tokens_in=totals[i][0],
                    tokens_out=totals[i][1],
                    latency_s=spent[i],
                    error=raw.error,
                    reasoning=raw.reasoning,
                )
                if raw.error is None and raw.text is None:
                    result.error = "backend returned no text"
                schema = current[i].schema
                if result.ok and schema is not None:
                    parsed, problem = check_json_output(raw.text or "", schema)
                    if problem is None:
                        result.parsed = parsed
                    else:
                        if raw.finish_reason == "length":
                            problem += f" (output cut at max_tokens={current[i].max_tokens})"
                        result.error = f"schema-invalid output after {attempt + 1} tries: {problem}"
                        if attempt < self.repair_tries:
                            current[i] = dataclasses.replace(
                                current[i],
                                messages=current[i].messages
                                + [
                                    {"role": "assistant", "content": raw.text or ""},
                                    {"role": "user", "content": repair_message(problem, schema)},
                                ],
                            )
                            retry.append(i)
                results[i] = result
            todo = retry
            if not todo:
                break
        return [r if r is not None else LLMResult(error="internal: no result") for r in results]

    async def _timed_batch(self, calls: list[Call]) -> list[RawCompletion]:
        try:
            raws = await self._acomplete_batch(calls)
        except Exception as exc:  # a backend crash fails the batch, never the caller
            raws = [RawCompletion(error=f"backend failure: {type(exc).__name__}: {exc}") for _ in calls]
        if len(raws) != len(calls):
            raws = [RawCompletion(error="backend returned a wrong number of results") for _ in calls]
        tokens_in = sum(r.tokens_in for r in raws)
        tokens_out = sum(r.tokens_out for r in raws)
        cost = (
            tokens_in / 1000 * float(self.prices.get("input_per_1k", 0.0))
            + tokens_out / 1000 * float(self.prices.get("output_per_1k", 0.0))
        )
        self._count(requests=len(calls), tokens_in=tokens_in, tokens_out=tokens_out, cost=cost)
        return raws

    def _count(self, **deltas: float) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def __enter__(self) -> LLMServing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cacheable(result: LLMResult) -> dict:
    return {
        "text": result.text,
        "parsed": result.parsed,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "error": None,
        "reasoning": result.reasoning,
    }
