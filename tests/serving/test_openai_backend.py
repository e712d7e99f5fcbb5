"""The OpenAI-compatible backend against the local fault-injecting server (no network)."""

from __future__ import annotations

import asyncio
import json
import time

import pydantic
import pytest

from dataflow.serving import LLMRequest, create_serving
from dataflow.serving.fake_server import FakeOpenAIServer, Reply, last_user_message

SCORE_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["score"],
}


def make_client(server: FakeOpenAIServer, **overrides):
    config = {
        "backend": "openai",
        "model": "fake-model",
        "base_url": server.base_url,
        "api_key_env": None,
        "max_concurrency": 16,
        "timeout_s": 5.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "cache": False,
    }
    config.update(overrides)
    return create_serving(config)


def test_fault_injection_run_answers_every_request_once_in_order():
    with FakeOpenAIServer(fault_rate=0.3, hang_s=1.0, retry_after_s=0.02, seed=7) as server:
        client = make_client(server, timeout_s=0.4, max_retries=8)
        requests = [LLMRequest(prompt=f"request-{i:03d}") for i in range(200)]
        results = client.generate(requests)

    assert len(results) == 200
    for i, result in enumerate(results):
        assert result.ok or result.error, "a result must be an answer or carry an error"
        if result.ok:
            assert result.text == f"echo: request-{i:03d}"  # answer went back to its own request
    answered = [r.text for r in results if r.ok]
    assert len(answered) == len(set(answered)), "an answer appears twice"
    assert sum(r.ok for r in results) >= 195  # 8 retries make a persistent failure very unlikely
    # the faults really happened and were retried
    for kind in ("429", "500", "timeout", "truncated", "nonjson"):
        assert server.outcomes[kind] > 0, kind
    faults = sum(server.outcomes[k] for k in ("429", "500", "timeout", "truncated", "nonjson"))
    # every fault was retried; a slow answer on a busy machine may also time out and be retried
    assert faults <= client.stats.retries
    assert len(server.log) <= 200 + client.stats.retries
    assert client.stats.requests == 200
    assert client.stats.errors == sum(not r.ok for r in results)


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(status):
    def script(body):
        return Reply(status=status, error_message=f"nope {status}")

    with FakeOpenAIServer(script=script) as server:
        client = make_client(server, max_retries=5)
        [result] = client.chat(["hello"])
    assert not result.ok
    assert f"HTTP {status}" in result.error and "not retried" in result.error
    assert len(server.log) == 1
    assert client.stats.retries == 0 and client.stats.errors == 1


def test_persistent_server_errors_give_up_with_an_error():
    with FakeOpenAIServer(script=lambda body: Reply(status=503)) as server:
        client = make_client(server, max_retries=2)
        [result] = client.chat(["hello"])
    assert not result.ok and "HTTP 503" in result.error and "3 attempts" in result.error
    assert len(server.log) == 3


def test_retry_after_is_honoured():
    seen = []

    def script(body):
        seen.append(time.perf_counter())
        if len(seen) == 1:
            return Reply(status=429, headers={"Retry-After": "1"})
        return None

    with FakeOpenAIServer(script=script) as server:
        client = make_client(server, backoff_base_s=0.01, backoff_max_s=0.02)
        [result] = client.chat(["hi"])
    assert result.ok and result.text == "echo: hi"
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.95  # waited the server's 1 s, not the 0.01 s backoff


def test_json_schema_falls_back_to_json_object_when_rejected():
    def script(body):
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_object":
            assert fmt["schema"] == SCORE_SCHEMA
            return Reply(content='{"score": 4}')
        return None  # the server's json_schema rejection applies

    with FakeOpenAIServer(script=script, reject_json_schema=True) as server:
        client = make_client(server)
        results = client.chat(["rate a", "rate b"], json_schema=SCORE_SCHEMA)
    assert [r.parsed for r in results] == [{"score": 4}, {"score": 4}]
    kinds = [b["response_format"]["type"] for b in server.log]
    assert kinds[0] == "json_schema" and kinds[-1] == "json_object"
    assert kinds.count("json_schema") <= 2  # the switch is remembered
    assert client.schema_mode == "json_object"


def test_pydantic_model_is_accepted_as_schema():
    class Score(pydantic.BaseModel):
        score: int
        reason: str

    def script(body):
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["required"] == ["score", "reason"]
        return Reply(content='{"score": 3, "reason": "fine"}')

    with FakeOpenAIServer(script=script) as server:
        [result] = make_client(server).chat(["x"], json_schema=Score)
    assert result.parsed == {"score": 3, "reason": "fine"}


def test_invalid_json_is_repaired_with_the_error_sent_back():
    def script(body):
        last = last_user_message(body)
        if "rejected" in last:
            return Reply(content='```json\n{"score": 2}\n```')
        return Reply(content='{"score": "two"}')

    with FakeOpenAIServer(script=script) as server:
        client = make_client(server)
        [result] = client.chat(["rate"], json_schema=SCORE_SCHEMA)
    assert result.ok and result.parsed == {"score": 2}
    assert len(server.log) == 2
    repair = server.log[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"score": "two"}'}
    assert "score" in repair[-1]["content"] and "is not of type 'integer'" in repair[-1]["content"]
    assert client.stats.repairs == 1 and client.stats.requests == 2


def test_repair_is_bounded_then_reports_error():
    with FakeOpenAIServer(script=lambda body: Reply(content="I think it's a 4")) as server:
        client = make_client(server, repair_tries=2)
        [result] = client.chat(["rate"], json_schema=SCORE_SCHEMA)
    assert not result.ok
    assert "schema-invalid output after 3 tries" in result.error and "not valid JSON" in result.error
    assert result.text == "I think it's a 4"
    assert len(server.log) == 3


def test_cache_serves_rerun_without_backend_calls(tmp_path):
    cache_file = tmp_path / "llm_cache.sqlite"
    prompts = [f"cache me {i}" for i in range(10)]
    with FakeOpenAIServer() as server:
        first = make_client(server, cache=str(cache_file))
        results1 = first.chat(prompts)
        assert len(server.log) == 10 and first.stats.cache_hits == 0
        before = first.stats.snapshot()
        results2 = first.chat(prompts)
        delta = first.stats - before
        assert delta.requests == 0 and delta.cache_hits == 10
        assert [r.text for r in results2] == [r.text for r in results1]
        assert all(r.cached for r in results2) and not any(r.cached for r in results1)
        first.close()
        # a new process would open the same file: still no backend calls
        second = make_client(server, cache=str(cache_file))
        results3 = second.chat(prompts)
        assert len(server.log) == 10
        assert second.stats.requests == 0 and second.stats.cache_hits == 10
        assert [r.text for r in results3] == [r.text for r in results1]
        # sampling parameters are part of the key
        second.chat(prompts[:1], temperature=0.7)
        assert len(server.log) == 11


def test_failures_are_not_cached(tmp_path):
    calls = []

    def script(body):
        calls.append(1)
        return Reply(status=404) if len(calls) == 1 else None

    with FakeOpenAIServer(script=script) as server:
        client = make_client(server, cache=str(tmp_path / "c.sqlite"))
        assert not client.chat(["x"])[0].ok
        assert client.chat(["x"])[0].text == "echo: x"
        assert len(server.log) == 2


def test_duplicate_requests_in_one_batch_call_backend_once(tmp_path):
    with FakeOpenAIServer() as server:
        client = make_client(server, cache=str(tmp_path / "c.sqlite"))
        results = client.chat(["same", "same", "other"])
    assert [r.text for r in results] == ["echo: same", "echo: same", "echo: other"]
    assert len(server.log) == 2 and client.stats.cache_hits == 1


def test_reasoning_content_usage_and_cost():
    def script(body):
        return Reply(content="four", reasoning="2+2 is 4")

    with FakeOpenAIServer(script=script) as server:
        client = make_client(server, prices={"input_per_1k": 1.0, "output_per_1k": 2.0})
        [result] = client.chat(["what is two plus two"], system="be brief")
    assert result.text == "four" and result.reasoning == "2+2 is 4"
    assert result.tokens_in == 7 and result.tokens_out == 1
    assert client.stats.cost == pytest.approx(7 / 1000 * 1.0 + 1 / 1000 * 2.0)
    assert server.log[0]["messages"][0] == {"role": "system", "content": "be brief"}


def test_request_fields_reach_the_server():
    with FakeOpenAIServer() as server:
        client = make_client(server)
        client.generate([
            LLMRequest(messages=[{"role": "user", "content": "a"}], temperature=0.5, top_p=0.9,
                       max_tokens=7, seed=3, stop=["\n"])
        ])
    body = server.log[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"], body["stop"]) == (
        0.5, 0.9, 7, 3, ["\n"])
    assert body["model"] == "fake-model" and "response_format" not in body


def test_dropped_connections_are_retried():
    attempts = []

    def script(body):
        attempts.append(1)
        return Reply(fault="truncated") if len(attempts) < 3 else None

    with FakeOpenAIServer(script=script) as server:
        [result] = make_client(server).chat(["drop"])
    assert result.text == "echo: drop" and len(server.log) == 3


def test_unreachable_server_gives_errors_not_exceptions():
    client = create_serving({"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                             "max_retries": 1, "backoff_base_s": 0.01, "cache": False,
                             "api_key_env": None})
    results = client.chat(["a", "b"])
    assert all(not r.ok and "connection error" in r.error for r in results)


def test_agenerate_and_generate_inside_running_loop():
    with FakeOpenAIServer() as server:
        client = make_client(server)

        async def main():
            direct = await client.agenerate([LLMRequest(prompt="async")])
            nested = client.generate([LLMRequest(prompt="nested")])  # called from a running loop
            return direct, nested

        direct, nested = asyncio.run(main())
    assert direct[0].text == "echo: async" and nested[0].text == "echo: nested"


def test_fingerprint_depends_on_model_and_endpoint():
    with FakeOpenAIServer() as server:
        a = make_client(server).fingerprint()
        assert a == make_client(server).fingerprint()
        assert a != make_client(server, model="other").fingerprint()
        assert a.startswith("openai:fake-model:")
    json.dumps(a)
