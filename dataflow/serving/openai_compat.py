"""Backend for any OpenAI-compatible ``/chat/completions`` server (OpenAI, vLLM/SGLang/llama.cpp
servers, proxies).

Requests run concurrently on one ``httpx.AsyncClient`` bounded by ``max_concurrency``. Each request
has its own timeout and is retried with exponential backoff plus jitter when the failure is
transient: 429 and 5xx answers (``Retry-After`` honoured), timeouts, dropped connections, and
bodies that are cut short or are not the expected JSON. 400/401/403/404/422 are final. Structured
output is asked for with ``response_format: json_schema``; when a server rejects that form (the
llama.cpp servers do) the backend switches once to ``{"type": "json_object", "schema": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import random
import time
from typing import Any

from dataflow.serving.base import Call, LLMServing, RawCompletion
from dataflow.serving.cache import ResponseCache

CONNECTIONS_PER_POOL = 8
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Final(Exception):
    pass


class OpenAIServing(LLMServing):
    """OpenAI-compatible HTTP backend (``backend: openai``)."""

    backend = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str | None = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        retry_after_max_s: float = 120.0,
        cache: ResponseCache | None = None,
        prices: dict | None = None,
        repair_tries: int = 2,
        extra_body: dict | None = None,
    ) -> None:
        super().__init__(model=model, cache=cache, prices=prices, repair_tries=repair_tries)
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_max_s = retry_after_max_s
        self.extra_body = extra_body or {}
        # "json_schema" until the server rejects it, then "json_object" (kept for later calls).
        self.schema_mode = "json_schema"
        self._ssl: Any = None

    def _identity(self) -> dict:
        return {"backend": self.backend, "model": self.model, "base_url": self.base_url,
                "extra_body": self.extra_body}

    async def _acomplete_batch(self, calls: list[Call]) -> list[RawCompletion]:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # httpcore's pool scans all its connections for every event, which costs O(C^2) at high
        # concurrency; several small pools keep that cheap. Calls are spread round-robin.
        shards = max(1, -(-self.max_concurrency // CONNECTIONS_PER_POOL))
        per_pool = -(-self.max_concurrency // shards)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        gate = asyncio.Semaphore(self.max_concurrency)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=self.base_url, headers=headers, limits=limits,
                                      timeout=httpx.Timeout(self.timeout_s), verify=self._ssl_context())
                )
                for _ in range(shards)
            ]

            async def one(index: int, call: Call) -> RawCompletion:
                async with gate:
                    return await self._complete_with_retries(clients[index % shards], call)

            return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(calls))))

    def _ssl_context(self) -> Any:
        """One TLS context for the serving's life: building one loads the CA bundle (~25 ms), and every
        batch opens fresh clients (each batch runs on its own event loop)."""
        if self._ssl is None:
            import httpx

            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _payload(self, call: Call) -> dict:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": call.messages,
            "temperature": call.temperature,
            "top_p": call.top_p,
            "max_tokens": call.max_tokens,
        }
        if call.seed is not None:
            payload["seed"] = call.seed
        if call.stop:
            payload["stop"] = call.stop
        if call.schema is not None:
            if self.schema_mode == "json_schema":
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": call.schema},
                }
            else:
                payload["response_format"] = {"type": "json_object", "schema": call.schema}
        payload.update(self.extra_body)
        return payload

    async def _complete_with_retries(self, client: Any, call: Call) -> RawCompletion:
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                raw = await self._attempt(client, call)
                raw.latency_s = time.perf_counter() - started
                return raw
            except _Final as exc:
                return RawCompletion(error=str(exc), latency_s=time.perf_counter() - started)
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    return RawCompletion(error=f"{exc} (gave up after {attempt + 1} attempts)",
                                         latency_s=time.perf_counter() - started)
                if exc.retry_after is not None:
                    delay = min(exc.retry_after, self.retry_after_max_s)
                else:
                    ceiling = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
                    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
                attempt += 1
                self._count(retries=1)
                await asyncio.sleep(delay)

    async def _attempt(self, client: Any, call: Call) -> RawCompletion:
        import httpx

        payload = self._payload(call)
        sent_json_schema = (payload.get("response_format") or {}).get("type") == "json_schema"
        try:
            response = await client.post("/chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout after {self.timeout_s}s ({type(exc).__name__})") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Dropped connections and bodies shorter than announced land here.
            raise _Retryable(f"connection error: {type(exc).__name__}: {exc}") from None

        status = response.status_code
        if status == 400 and sent_json_schema:
            # Checked against what this attempt sent: concurrent requests may all hit the rejection.
            body = response.text.lower()
            if "json_schema" in body or "response_format" in body or "json_object" in body:
                self.schema_mode = "json_object"
                return await self._attempt(client, call)
        if status in RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {status}: {response.text[:200]}", _retry_after(response))
        if status >= 400:
            raise _Final(f"HTTP {status} (not retried): {response.text[:300]}")

        try:
            body = response.json()
            choice = body["choices"][0]
            message = choice["message"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"malformed response body ({type(exc).__name__}): {response.text[:120]!r}") from None
        usage = body.get("usage") or {}
        content = message.get("content")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if content is None and not message.get("tool_calls"):
            content = ""
        return RawCompletion(
            text=content,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            reasoning=reasoning,
            finish_reason=choice.get("finish_reason"),
        )


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
