"""The agent task suite and its benchmark script: the tasks are sound (each checker passes on a right
pipeline and fails on the raw input), a perfect scripted model succeeds end to end, and a fake
OpenAI-compatible server that answers badly makes every task fail with a clear message, never a hang."""

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from dataflow.core.pipeline import Pipeline
from tests.agent.scripted import agent_model, function_answer

pytest.importorskip("bm25s")

REPO = Path(__file__).resolve().parents[2]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = load("bench_agent", REPO / "benchmarks" / "bench_agent.py")
TASKS = {t.name: t for t in bench.TASKS}


def test_the_suite_covers_the_domains_and_new_operators():
    assert len(TASKS) >= 25 and len(TASKS) == len(bench.TASKS)
    assert sum(t.new_op for t in TASKS.values()) >= 5
    assert {t.domain for t in TASKS.values()} >= {"general_text", "reasoning", "code", "text2sql", "knowledge",
                                                  "agentic_rag"}
    for task in TASKS.values():
        assert 3 <= len(task.rows()) <= 50, task.name
        assert bool(task.reference_op) == task.new_op


def run_reference(task, folder):
    if task.reference_op:
        (folder / "ops").mkdir()
        (folder / "ops" / task.reference[0]["op"].split("/")[1].split(":")[0]).write_text(task.reference_op)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"input": str(task.input), "output": str(folder / "out.jsonl"),
                                    "steps": task.reference}))
    Pipeline.from_spec(spec).run(progress=False)
    return [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_checker_passes_the_reference_and_fails_the_raw_input(name, tmp_path):
    task = TASKS[name]
    assert task.check(task.rows(), task.rows()) is not None, "the raw input must not pass"
    assert task.check(run_reference(task, tmp_path), task.rows()) is None


def perfect_model(task):
    """A serving answering each of the agent's questions with the task's reference: the reference step's
    params and bindings, or the new operator's name, bindings and function."""
    step = task.reference[0]
    return agent_model(
        fill=[{"params": [{"name": k, "value": v} for k, v in step["params"].items()], "run": step["run"]}],
        new=[{"name": task.new_name, **task.new_run}],
        code=[function_answer(task.reference_function, ["assert isinstance(OUT, list)"])])


@pytest.mark.parametrize("name", ["min_words", "sql_parse", "new_positive_price", "new_title_case"])
def test_a_perfect_model_succeeds_through_dataflow_run_and_the_checker(name, tmp_path):
    task = TASKS[name]
    outcome = bench.run_task(task, perfect_model(task), tmp_path, rows=30, run_timeout=120)
    assert outcome.ok and outcome.stage == "done" and outcome.rounds == 1, outcome.message
    assert (tmp_path / name / "spec.yaml").is_file() and (tmp_path / name / "spec.agent.jsonl").is_file()


def test_a_wrong_pipeline_fails_at_the_checker(tmp_path):
    task = TASKS["min_words"]
    wrong = agent_model(fill=[{"params": [{"name": "min_words", "value": 10}],
                                                                    "run": {"input_key": "text"}}])
    outcome = bench.run_task(task, wrong, tmp_path, rows=10, run_timeout=120)
    assert not outcome.ok and outcome.stage == "check"
    assert outcome.message.startswith("the checker refused the output: ")


def test_a_badly_answering_server_fails_every_task_clearly_within_the_round_limit(tmp_path, capsys):
    started = time.monotonic()
    names = "min_words,new_drop_phone,knowledge_sentences"  # each needs a model answer
    assert bench.main(["--bad-server", "--tasks", names, "--max-rounds", "2", "--out", str(tmp_path),
                       "--json", str(tmp_path / "outcomes.json")]) == 0
    assert time.monotonic() - started < 120
    outcomes = json.loads((tmp_path / "outcomes.json").read_text())
    assert sorted(o["task"] for o in outcomes) == sorted(names.split(","))
    for o in outcomes:
        assert not o["ok"] and o["stage"] == "agent" and o["rounds"] == 2
        assert o["message"].startswith("no working pipeline after 2 round(s)")
        assert "the answer" in o["message"]  # says what was wrong with the model's answers
    printed = capsys.readouterr().out
    assert "success rate: 0/3 (0%)" in printed and "FAIL" in printed


def test_a_failing_server_ends_each_task_with_the_error_within_the_round_limit(tmp_path):
    from dataflow.serving import create_serving
    from dataflow.serving.fake_server import FakeOpenAIServer

    with FakeOpenAIServer(fault_rate=1.0, faults=("500", "nonjson", "truncated")) as server:
        serving = create_serving({"backend": "openai", "model": "fake", "base_url": server.base_url,
                                  "max_retries": 1, "timeout_s": 5})
        started = time.monotonic()
        outcome = bench.run_task(TASKS["new_valid_email"], serving, tmp_path, max_rounds=2, rows=10)
    assert time.monotonic() - started < 60
    assert not outcome.ok and outcome.stage == "agent" and outcome.rounds == 2
    assert outcome.message.startswith("no working pipeline after 2 round(s)")
    assert "the answer was not usable" in outcome.message
