import json

import pytest
import yaml

from dataflow.agent.catalog import Catalog
from dataflow.agent.planner import build_pipeline
from dataflow.agent.session import ReplayServing, SessionLog
from dataflow.cli.main import main
from tests.agent.scripted import agent_model, question
from tests.operators.reasoning.scripted_serving import ScriptedServing

pytest.importorskip("bm25s")

REQUEST = "keep documents of at least 5 words"
TEXTS = ["one two three four five six seven", "too short", "a b c d e f", "tiny"]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 3))
    return path


def step(min_words, column="text"):
    return {"op": "WordNumberFilter", "params": {"min_words": min_words}, "run": {"input_key": column}}


def fill(min_words):
    return {"params": [{"name": "min_words", "value": min_words}], "run": {"input_key": "text"}}


def test_the_plan_is_made_of_small_questions_and_a_failing_step_is_refilled(data, tmp_path):
    # 500 words drops every sample row: the dry run says so, and the step is filled again with that finding.
    serving = agent_model(choose=[{"op": "WordNumberFilter"}], fill=[fill(500), fill(5)])
    spec_out = tmp_path / "out" / "clean.yaml"
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=spec_out, rows=8)
    assert result.ok and result.rounds == 2, result.message
    assert [question(c) for c in serving.calls] == ["actions", "choose", "fill", "fill"]
    choose = serving.calls[1]
    assert choose.schema["properties"]["op"]["enum"][0] == "WordNumberFilter"  # retrieval ranks it first
    assert choose.schema["properties"]["op"]["enum"][-1] == "NONE"
    refill = serving.calls[3].messages[-1]["content"]
    assert "dropped 8 of 8 rows" in refill
    assert serving.calls[2].schema["properties"]["run"]["properties"]["input_key"] == {"enum": ["text"]}
    spec = yaml.safe_load(spec_out.read_text())
    assert spec["steps"] == [step(5)]
    assert "WordNumberFilter" in result.report and "8 in, 4 out" in result.report
    events = SessionLog.load(result.session_path)
    assert result.session_path == str(tmp_path / "out" / "clean.agent.jsonl")
    assert [e["what"] for e in events if e["kind"] == "decision"] == [
        "profile", "actions", "choice", "fill", "dry_run", "repair", "fill", "dry_run"]
    assert events[-1]["kind"] == "end" and events[-1]["ok"]
    # The record replays: the same prompts get the same answers and the same spec comes out.
    again = build_pipeline(REQUEST, data, serving=ReplayServing(events), spec_out=tmp_path / "re" / "clean.yaml",
                           rows=8)
    assert again.ok and again.spec["steps"] == spec["steps"] and again.rounds == 2


def test_a_step_that_fails_twice_is_chosen_again_without_its_operator(data, tmp_path):
    serving = agent_model(choose=[{"op": "WordNumberFilter"}, {"op": "CharNumberFilter"}],
                          fill=[fill(500), fill(400), {"params": [{"name": "threshold", "value": 20}], "run": {"input_key": "text"}}])
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok and result.rounds == 3, result.message
    chooses = [c for c in serving.calls if question(c) == "choose"]
    assert "WordNumberFilter" not in chooses[1].schema["properties"]["op"]["enum"]
    assert "An earlier choice failed" in chooses[1].messages[-1]["content"]
    assert result.spec["steps"][0]["op"] == "CharNumberFilter"


def test_a_request_of_several_actions_gets_a_step_each_in_order(data, tmp_path):
    actions = {"actions": [{"action": "keep documents of at least 5 words", "effect": "drop rows"},
                           {"action": "lowercase the text", "effect": "rewrite text"}]}
    serving = agent_model(actions=[actions], choose=[{"op": "WordNumberFilter"}, {"op": "LowercaseRefiner"}],
                          fill=[fill(5), {"params": [], "run": {"input_key": "text"}}])
    result = build_pipeline("keep documents of at least 5 words and lowercase them", data, serving=serving,
                            spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok, result.message
    assert [s["op"] for s in result.spec["steps"]] == ["WordNumberFilter", "LowercaseRefiner"]
    chooses = [c for c in serving.calls if question(c) == "choose"]
    # Each action's options are operators of its effect's kinds: filters for the first, refiners for the second.
    assert "LowercaseRefiner" not in chooses[0].schema["properties"]["op"]["enum"]
    catalog = Catalog.from_registry()
    assert {catalog[n].kind for n in chooses[1].schema["properties"]["op"]["enum"][:-1]} == {"refine"}


def test_a_serving_that_always_answers_badly_ends_with_a_clear_message(data, tmp_path):
    serving = ScriptedServing(lambda call: "I would filter the short ones.")
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=tmp_path / "p.yaml", max_rounds=2)
    assert not result.ok and result.rounds == 2
    assert result.message.startswith("no working pipeline after 2 round(s)")
    assert "the answer was not usable" in result.message
    assert not (tmp_path / "p.yaml").exists()
    assert len(serving.calls) <= 2 * 3  # each round: one call plus the serving's bounded repairs


def test_cli_writes_a_spec_that_dataflow_run_runs(data, tmp_path, monkeypatch, capsys):
    serving = agent_model(choose=[{"op": "WordNumberFilter"}], fill=[fill(5)])
    monkeypatch.setattr("dataflow.serving.create_serving", lambda config=None: serving)
    spec = tmp_path / "spec.yaml"
    assert main(["agent", REQUEST, "--input", str(data), "--spec-out", str(spec), "--rows", "4"]) == 0
    assert "wrote" in capsys.readouterr().out
    out = tmp_path / "result.jsonl"
    assert main(["run", str(spec), "--input", str(data), "--output", str(out), "--no-progress"]) == 0
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [TEXTS[0], TEXTS[2]] * 3
    monkeypatch.setattr("dataflow.serving.create_serving", lambda config=None: ScriptedServing(lambda c: "no"))
    assert main(["agent", REQUEST, "--input", str(data), "--spec-out", str(spec), "--max-rounds", "1"]) == 1
    assert "no working pipeline after 1 round(s)" in capsys.readouterr().err
