"""The reference DataFlow's serving classes over our backends."""

from __future__ import annotations

from dataflow.serving import APILLMServing_request, LocalModelLLMServing_vllm
from dataflow.serving.fake_server import FakeOpenAIServer


def test_api_serving_takes_the_full_url_and_answers_generate_from_input(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFLOW_CACHE_HOME", str(tmp_path))
    with FakeOpenAIServer() as server:
        llm = APILLMServing_request(api_url=server.base_url + "/chat/completions", model_name="fake",
                                    max_workers=3, read_timeout=5)
        assert (llm.base_url, llm.max_concurrency, llm.timeout_s) == (server.base_url, 3, 5.0)
        assert llm.generate_from_input(["ping", "pong"], system_prompt="Echo.") == ["echo: ping", "echo: pong"]
        llm.close()


def test_local_vllm_serving_maps_the_engine_settings():
    llm = LocalModelLLMServing_vllm(hf_model_name_or_path="Qwen/Qwen2.5-0.5B-Instruct",
                                    vllm_tensor_parallel_size=2, vllm_max_model_len=4096, vllm_seed=7)
    assert llm.backend == "vllm" and llm.model == "Qwen/Qwen2.5-0.5B-Instruct"
    assert llm.engine_args == {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.9,
                               "max_model_len": 4096, "seed": 7}
