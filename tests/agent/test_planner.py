import json

import pytest
import yaml

from dataflow.agent.planner import build_pipeline
from dataflow.agent.session import ReplayServing, SessionLog
from dataflow.cli.main import main
from tests.operators.reasoning.scripted_serving import ScriptedServing

pytest.importorskip("bm25s")

REQUEST = "keep documents of at least 5 words"
TEXTS = ["one two three four five six seven", "too short", "a b c d e f", "tiny"]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 3))
    return path


def step(column):
    return {"op": "WordNumberFilter", "params": {"min_words": 5}, "run": {"input_key": column}}


def scripted(*answers):
    """A serving answering the planning calls in turn (the last answer repeats)."""
    answers = list(answers)
    return ScriptedServing(lambda call: answers.pop(0) if len(answers) > 1 else answers[0])


def test_a_spec_that_does_not_compile_is_repaired_in_the_next_round(data, tmp_path):
    # "word_count" is a known column name (WordNumberFilter writes it) but nothing has written it yet.
    serving = scripted(json.dumps({"steps": [step("word_count")]}), json.dumps({"steps": [step("text")]}))
    spec_out = tmp_path / "out" / "clean.yaml"
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=spec_out, rows=8)
    assert result.ok and result.rounds == 2, result.message
    assert len(serving.calls) == 2
    repair = serving.calls[1].messages[-1]["content"]
    assert "does not compile" in repair and "word_count" in repair
    spec = yaml.safe_load(spec_out.read_text())
    assert spec["steps"] == [step("text")]
    assert "WordNumberFilter" in result.report and "8 in, 4 out" in result.report
    events = SessionLog.load(result.session_path)
    assert result.session_path == str(tmp_path / "out" / "clean.agent.jsonl")
    assert [e["what"] for e in events if e["kind"] == "decision"] == [
        "profile", "shortlist", "schema", "dry_run", "repair", "dry_run"]
    assert events[-1]["kind"] == "end" and events[-1]["ok"]
    # The record replays: the same prompts get the same answers and the same spec comes out.
    again = build_pipeline(REQUEST, data, serving=ReplayServing(events), spec_out=tmp_path / "re" / "clean.yaml",
                           rows=8)
    assert again.ok and again.spec["steps"] == spec["steps"] and again.rounds == 2


def test_a_serving_that_always_answers_badly_ends_with_a_clear_message(data, tmp_path):
    serving = scripted("I would filter the short ones.")
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=tmp_path / "p.yaml", max_rounds=2)
    assert not result.ok and result.rounds == 2
    assert result.message.startswith("no working pipeline after 2 round(s)")
    assert "the answer was not usable" in result.message
    assert not (tmp_path / "p.yaml").exists()
    assert len(serving.calls) <= 2 * 3  # each round: one call plus the serving's bounded repairs


def test_cli_writes_a_spec_that_dataflow_run_runs(data, tmp_path, monkeypatch, capsys):
    serving = scripted(json.dumps({"steps": [step("text")]}))
    monkeypatch.setattr("dataflow.serving.create_serving", lambda config=None: serving)
    spec = tmp_path / "spec.yaml"
    assert main(["agent", REQUEST, "--input", str(data), "--spec-out", str(spec), "--rows", "4"]) == 0
    assert "wrote" in capsys.readouterr().out
    out = tmp_path / "result.jsonl"
    assert main(["run", str(spec), "--input", str(data), "--output", str(out), "--no-progress"]) == 0
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [TEXTS[0], TEXTS[2]] * 3
    monkeypatch.setattr("dataflow.serving.create_serving", lambda config=None: scripted("no"))
    assert main(["agent", REQUEST, "--input", str(data), "--spec-out", str(spec), "--max-rounds", "1"]) == 1
    assert "no working pipeline after 1 round(s)" in capsys.readouterr().err
