"""The core LLM operators end to end: on the real embedded model, offline, and against faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from dataflow.core.eager import DataFrameStorage
from dataflow.serving.fake_server import FakeOpenAIServer
from tests.core.conftest import REPO, read_jsonl, write_jsonl
from tests.serving.conftest import _embedded_unavailable


def network_isolation() -> list[str]:
    """A prefix that runs a command without network, where the machine allows it."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    return []


QUESTIONS = ["What is the capital of France?", "Name a primary colour.", "What is 12 times 3?",
             "Which planet is closest to the Sun?", "What gas do plants take in for photosynthesis?"]


@pytest.mark.llm
def test_prompted_generator_spec_runs_offline_and_reruns_make_no_backend_calls(tmp_path):
    reason = _embedded_unavailable()
    if reason:
        pytest.skip(f"embedded model unavailable: {reason}")
    write_jsonl(tmp_path / "in.jsonl", [{"q": q} for q in QUESTIONS])
    spec = {"input": "in.jsonl", "output": "out.jsonl",
            "serving": {"backend": "embedded", "cache": str(tmp_path / "llm.sqlite")},
            "steps": [{"op": "PromptedGenerator",
                       "params": {"prompt_template": "Answer in a few words: {{ q }}", "max_tokens": 24},
                       "run": {"output_key": "answer"}}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env["PYTHONPATH"] = str(REPO)
    prefix = network_isolation()

    def run(*extra):
        proc = subprocess.run([*prefix, sys.executable, "-m", "dataflow.cli.main", "run", "spec.yaml",
                               "--no-progress", *extra], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / ".dataflow" / "spec" / "run.json").read_text())["steps"][0], \
            read_jsonl(tmp_path / "out.jsonl")

    first, out1 = run()
    assert first["llm_requests"] == 5 and first["rows_out"] == 5
    assert all(r["answer"].strip() for r in out1)
    assert "paris" in out1[0]["answer"].lower()
    again, out2 = run()
    assert out2 == out1 and again["llm_requests"] == 0  # the step cache answers
    fresh, out3 = run("--fresh")
    assert out3 == out1 and fresh["llm_requests"] == 0 and fresh["llm_cache_hits"] == 5  # the response cache


def test_a_200_row_llm_step_against_a_faulty_server_answers_or_rejects_each_row_once(tmp_path):
    rows = [{"id": i, "q": f"question number {i}"} for i in range(200)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    with FakeOpenAIServer(fault_rate=0.3, hang_s=1.0, retry_after_s=0.01, latency_s=0.01) as server:
        spec = {"input": str(tmp_path / "in.jsonl"), "output": str(tmp_path / "out.jsonl"),
                "cache_dir": str(tmp_path / "cache"), "chunk_size": 64,
                "serving": {"backend": "openai", "base_url": server.base_url, "model": "fake",
                            "cache": False, "timeout_s": 0.5, "max_retries": 2, "max_concurrency": 16,
                            "backoff_base_s": 0.01, "backoff_max_s": 0.05},
                "steps": [{"op": "PromptedGenerator", "params": {"prompt_template": "{{ q }}"},
                           "run": {"output_key": "answer"}}]}
        from dataflow.core.pipeline import Pipeline

        summary = Pipeline.from_spec(spec).run(progress=False)
        faults = dict(server.fault_counts) if hasattr(server, "fault_counts") else None
    out = read_jsonl(tmp_path / "out.jsonl")
    rejects = read_jsonl(tmp_path / "cache" / "rejects.jsonl")
    answered = [r["id"] for r in out]
    rejected = [r["record"]["id"] for r in rejects]
    assert sorted(answered + rejected) == list(range(200)), "a row was lost or doubled"
    assert len(set(answered)) == len(answered)
    for r in out:  # the fake server echoes the prompt: each answer went back to its own row
        assert r["answer"].endswith(r["q"]), r
    assert all(r["reason"].startswith("llm: ") for r in rejects)
    step = summary["steps"][0]
    assert step["rows_out"] == len(out) and step["rejected"] == len(rejects)
    assert step["llm_requests"] >= 200
    assert faults is None or sum(faults.values()) > 0


SNIPPETS = [
    "Water boils at 100 degrees Celsius at sea level; at higher altitudes it boils at lower temperatures.",
    "The heart pumps blood through the body, delivering oxygen and nutrients to the tissues.",
    "Light from the Sun takes about eight minutes to reach the Earth.",
    "Python lists are ordered, mutable sequences that can hold objects of different types.",
    "The Pacific is the largest and deepest of the Earth's oceans.",
    "Vaccines train the immune system to recognise a pathogen without causing the disease.",
    "Copper is a good conductor of electricity, which is why it is used in electrical wiring.",
    "The Great Wall of China was built over many centuries to protect against invasions.",
    "Honey never spoils easily because its low water content and acidity inhibit bacteria.",
    "A leap year has 366 days, adding February 29 to keep the calendar aligned with the seasons.",
    "click here click here best price !!!",
    "asdf qwer zxcv",
    "lorem ipsum dolor sit amet lorem ipsum",
    "BUY NOW $$$ limited offer >>> www",
    "the the the the the the",
    "??? ??? ???",
    "Home | Login | Cart | Help",
    "aaaaaaa bbbbbbb",
    "subscribe subscribe subscribe",
    "404 not found",
]


@pytest.mark.llm
def test_schema_constrained_prompted_evaluator_is_valid_on_every_row(real_llm):
    from dataflow.operators.core_text.prompted_filter import PromptedEvaluator

    storage = DataFrameStorage([{"text": t} for t in SNIPPETS], serving=real_llm)
    PromptedEvaluator(max_tokens=96).run(storage, input_key="text")
    assert storage.rejected == []
    rows = storage.to_records()
    assert len(rows) == 20
    for row in rows:
        assert isinstance(row["llm_score"], int) and 1 <= row["llm_score"] <= 5, row
        assert isinstance(row["llm_score_reason"], str) and row["llm_score_reason"].strip(), row
    factual = sum(r["llm_score"] for r in rows[:10]) / 10
    junk = sum(r["llm_score"] for r in rows[10:]) / 10
    assert factual > junk


@pytest.mark.llm
def test_prompted_refiner_rewrites_and_prompted_filter_drops_with_reasons(real_llm):
    from dataflow.operators.core_text.prompted_filter import PromptedFilter
    from dataflow.operators.core_text.prompted_refiner import PromptedRefiner

    s = DataFrameStorage([{"text": "Teh river flows nroth into the sea."},
                          {"text": "Plants need sunlght and water to grwo."}], serving=real_llm)
    PromptedRefiner(max_tokens=40).run(s, input_key="text", output_key="fixed")
    fixed = [r["fixed"].lower() for r in s.to_records()]
    assert "north" in fixed[0] and "sunlight" in fixed[1] and "grow" in fixed[1]

    s = DataFrameStorage([{"text": SNIPPETS[0]}, {"text": SNIPPETS[1]}, {"text": SNIPPETS[10]},
                          {"text": SNIPPETS[13]}], serving=real_llm)
    PromptedFilter(threshold=4, max_tokens=96).run(s, input_key="text", output_key="quality")
    kept = [r["text"] for r in s.to_records()]
    assert kept[:2] == SNIPPETS[:2]
    dropped = s.dropped[0] if s.dropped else None
    assert dropped is not None and set(dropped["_drop_reason"]) == {"quality < 4"}
    assert set(dropped["text"]) <= {SNIPPETS[10], SNIPPETS[13]}
