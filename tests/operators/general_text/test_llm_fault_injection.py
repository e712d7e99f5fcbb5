"""Fault injection: the general-text LLM operators against a local OpenAI-compatible server whose answers
are scripted to be invalid for some rows. Rows whose answers stay invalid must reach the rejects with the
reason; the other rows must come through untouched by the failures. (Never a stand-in for the model:
the real-model acceptance run is in tests/pipelines/general_text/test_sft_pipelines.py.)"""

from __future__ import annotations

import json

import pandas as pd

from dataflow.core.eager import DataFrameStorage
from dataflow.core.operator import DROP_REASON, REJECT_REASON, ROW_ID
from dataflow.operators.general_text.llm.alpagasus import AlpagasusFilter
from dataflow.operators.general_text.llm.condor_generator import CondorGenerator
from dataflow.operators.general_text.llm.condor_refiner import CondorRefiner
from dataflow.operators.general_text.llm.quality_scorer import LLMQualityScorer
from dataflow.serving import create_serving
from dataflow.serving.fake_server import FakeOpenAIServer, Reply


def first_user_message(body: dict) -> str:
    """The original prompt (repair requests append messages after it)."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def client(server: FakeOpenAIServer, repair_tries: int = 1):
    return create_serving({"backend": "openai", "model": "fake", "base_url": server.base_url, "cache": False,
                           "api_key_env": None, "max_retries": 0, "repair_tries": repair_tries})


def rejects(storage: DataFrameStorage) -> dict[str, str]:
    frame = pd.concat(storage.rejected) if storage.rejected else pd.DataFrame(columns=[ROW_ID, REJECT_REASON])
    return dict(zip(frame[ROW_ID], frame[REJECT_REASON]))


def test_condor_generator_rejects_topics_with_invalid_answers():
    def script(body):
        prompt = first_user_message(body)
        if "Topic: prose" in prompt:
            return Reply(content="Sure! Here are some pairs: instruction one, response one.")  # not JSON
        if "Topic: too many" in prompt:  # valid JSON, but more items than maxItems
            return Reply(content=json.dumps({"pairs": [{"instruction": f"Question {i}?", "response": "ok"}
                                                       for i in range(5)]}))
        pairs = [{"instruction": "Explain a tuple in Python.", "response": "An immutable sequence."},
                 {"instruction": "How do you unpack a tuple?", "response": "a, b = pair"}]
        return Reply(content=json.dumps({"pairs": pairs}))

    with FakeOpenAIServer(script=script) as server:
        storage = DataFrameStorage([{"topic": "tuples"}, {"topic": "prose"}, {"topic": "too many"}],
                                   serving=client(server))
        CondorGenerator(num_pairs=2).run(storage)
        repaired = len(server.log)
    assert storage.frame[ROW_ID].tolist() == ["1.0", "1.1"]
    assert storage.frame["instruction"].tolist() == ["Explain a tuple in Python.", "How do you unpack a tuple?"]
    reasons = rejects(storage)
    assert set(reasons) == {"2", "3"}
    assert "not valid JSON" in reasons["2"] and reasons["2"].startswith("llm: schema-invalid output after 2 tries")
    assert "pairs" in reasons["3"] and "too long" in reasons["3"]
    assert repaired == 5  # each bad topic was asked once more with the error before being rejected
    # The schema went to the server with the request.
    schema = server.log[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["pairs"]["maxItems"] == 2


def test_condor_refiner_chains_critique_into_rewrite_and_rejects_failures():
    def script(body):
        prompt = first_user_message(body)
        if prompt.startswith("You review"):
            if "Response:\nno critique" in prompt:
                return Reply(status=400, error_message="content policy")
            return Reply(content=json.dumps({"critique": "Too short; give an example."}))
        if "Response:\nbad rewrite" in prompt:
            return Reply(content=json.dumps({"response": 42}))
        assert "Critique:\nToo short; give an example." in prompt  # the first call's answer feeds the second
        return Reply(content=json.dumps({"response": "A list is ordered, e.g. [1, 2]."}))

    rows = [{"instruction": "What is a list?", "output": "Ordered."},
            {"instruction": "What is a set?", "output": "no critique"},
            {"instruction": "What is a dict?", "output": "bad rewrite"}]
    with FakeOpenAIServer(script=script) as server:
        storage = DataFrameStorage(rows, serving=client(server, repair_tries=0))
        CondorRefiner().run(storage)
    assert storage.frame["output"].tolist() == ["A list is ordered, e.g. [1, 2]."]
    assert storage.frame["critique"].tolist() == ["Too short; give an example."]
    reasons = rejects(storage)
    assert reasons["2"].startswith("critique llm:") and "HTTP 400" in reasons["2"]
    assert reasons["3"].startswith("rewrite llm: schema-invalid") and "is not of type 'string'" in reasons["3"]


def test_alpagasus_filter_keeps_drops_and_rejects():
    def script(body):
        prompt = first_user_message(body)
        if "Response:\nParis" in prompt:
            return Reply(content='{"reason": "Correct and direct.", "score": 5}')
        if "Response:\nLondon" in prompt:
            return Reply(content='{"reason": "Wrong city.", "score": 1}')
        return Reply(content='{"reason": "Off the scale.", "score": 9}')  # out of range -> invalid

    rows = [{"instruction": "Capital of France?", "input": "", "output": "Paris"},
            {"instruction": "Capital of France?", "input": "", "output": "London"},
            {"instruction": "Capital of Spain?", "input": "Europe", "output": "Madrid"}]
    with FakeOpenAIServer(script=script) as server:
        storage = DataFrameStorage(rows, serving=client(server, repair_tries=0))
        AlpagasusFilter(threshold=4).run(storage, input_input_key="input")
        prompts = [first_user_message(b) for b in server.log]
    assert storage.frame["output"].tolist() == ["Paris"]
    assert storage.frame["alpagasus_score"].tolist() == [5]
    assert storage.frame["alpagasus_reason"].tolist() == ["Correct and direct."]
    dropped = pd.concat(storage.dropped)
    assert dropped["output"].tolist() == ["London"] and dropped[DROP_REASON].tolist() == ["alpagasus_score < 4"]
    assert rejects(storage)["3"].endswith("at score: 9 is not one of [1, 2, 3, 4, 5]")
    assert any("Input:\nEurope" in p for p in prompts)


def test_quality_scorer_means_the_aspects_and_rejects_missing_aspects():
    def script(body):
        if "Text:\ngood" in first_user_message(body):
            return Reply(content=json.dumps({"reason": "Fine.", "scores": {"coherence": 4, "fluency": 5}}))
        return Reply(content=json.dumps({"reason": "Half.", "scores": {"coherence": 4}}))

    dims = {"coherence": "logical", "fluency": "natural"}
    with FakeOpenAIServer(script=script) as server:
        storage = DataFrameStorage([{"text": "good"}, {"text": "half"}], serving=client(server, repair_tries=0))
        LLMQualityScorer(dimensions=dims).run(storage)
    assert storage.frame["quality_score"].tolist() == [4.5]
    assert storage.frame["quality_scores"].tolist() == [{"coherence": 4, "fluency": 5}]
    assert "'fluency' is a required property" in rejects(storage)["2"]
