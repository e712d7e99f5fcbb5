import json

import pytest
import yaml

from dataflow.agent.catalog import Catalog
from dataflow.agent.decide import candidates_for, coverage, effect_of
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


def test_the_first_operator_whose_dry_run_shows_the_effect_is_used(data, tmp_path):
    serving = agent_model(fill=[fill(5)])
    spec_out = tmp_path / "out" / "clean.yaml"
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=spec_out, rows=8)
    assert result.ok and result.rounds == 1, result.message
    assert [question(c) for c in serving.calls] == ["fill"]  # the verbs say "drop rows": no effect question
    fill_call = serving.calls[0]
    assert "Operator:\nWordNumberFilter" in fill_call.messages[-1]["content"]  # retrieval ranks it first
    assert fill_call.schema["properties"]["run"]["properties"]["input_key"] == {"enum": ["text"]}
    spec = yaml.safe_load(spec_out.read_text())
    assert spec["steps"] == [step(5)]
    assert "WordNumberFilter" in result.report and "8 in, 4 out" in result.report
    events = SessionLog.load(result.session_path)
    assert result.session_path == str(tmp_path / "out" / "clean.agent.jsonl")
    assert [e["what"] for e in events if e["kind"] == "decision"] == [
        "profile", "actions", "fill", "evidence", "dry_run"]
    assert events[-1]["kind"] == "end" and events[-1]["ok"]
    # The record replays: the same prompts get the same answers and the same spec comes out.
    again = build_pipeline(REQUEST, data, serving=ReplayServing(events), spec_out=tmp_path / "re" / "clean.yaml",
                           rows=8)
    assert again.ok and again.spec["steps"] == spec["steps"]


def test_an_operator_whose_dry_run_does_not_show_the_effect_is_passed_over(data, tmp_path):
    # 500 words drops every sample row: WordNumberFilter is passed over for the next candidate.
    serving = agent_model(fill={"WordNumberFilter": [fill(500)],
                                "StopWordFilter": [{"params": [], "run": {"input_key": "text"}}],
                                "CharNumberFilter": [{"params": [{"name": "threshold", "value": 20}],
                                                      "run": {"input_key": "text"}}]})
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok, result.message
    verdicts = [(e["op"], e["ok"]) for e in SessionLog.load(result.session_path) if e.get("what") == "evidence"]
    assert verdicts[0] == ("WordNumberFilter", False) and verdicts[-1][1]
    assert result.spec["steps"][0]["op"] == verdicts[-1][0] != "WordNumberFilter"


def test_a_request_of_several_actions_gets_a_step_each_in_order(data, tmp_path):
    actions = {"actions": ["keep documents of at least 5 words", "lowercase the text"]}
    serving = agent_model(actions=[actions], fill={"WordNumberFilter": [fill(5)],
                                                   "LowercaseRefiner": [{"params": [], "run": {"input_key": "text"}}]})
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps({"text": t.title()}) + "\n" for t in TEXTS * 3))
    result = build_pipeline("keep documents of at least 5 words and lowercase them", mixed, serving=serving,
                            spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok, result.message
    assert [s["op"] for s in result.spec["steps"]] == ["WordNumberFilter", "LowercaseRefiner"]
    events = SessionLog.load(result.session_path)
    assert next(e for e in events if e.get("what") == "actions")["actions"] == [
        ["keep documents of at least 5 words", "drop rows"], ["lowercase the text", "rewrite text"]]


def test_effects_come_from_the_verbs():
    assert effect_of("keep texts of at least 20 words") == "drop rows"
    assert effect_of("remove exact duplicate texts") == "drop rows"
    assert effect_of("remove URLs from the text") == "rewrite text"
    assert effect_of("anonymize the email addresses") == "rewrite text"
    assert effect_of("extract the final answer of each solution into a column") == "add a column"
    assert effect_of("score the token F1 of each answer") == "add a column"
    assert effect_of("summarize it") is None  # the model is asked


def test_an_operator_found_on_generic_words_only_is_not_a_candidate():
    catalog = Catalog.from_registry()
    assert coverage("keep texts of at least 20 words", catalog["WordNumberFilter"], catalog) == 1.0
    # "number" is said by many operators, "phone" by few: a filter of numbers does not drop phone numbers
    assert coverage("drop rows whose text contains a phone number", catalog["AlphaWordsFilter"], catalog) < 0.5
    assert candidates_for(catalog, "keep rows whose price field is a positive number", ["price"], "drop rows") == []


def test_a_serving_that_always_answers_badly_ends_with_a_clear_message(data, tmp_path):
    serving = ScriptedServing(lambda call: "I would filter the short ones.")
    result = build_pipeline(REQUEST, data, serving=serving, spec_out=tmp_path / "p.yaml", max_rounds=2)
    assert not result.ok and result.rounds == 2
    assert result.message.startswith("no working pipeline after 2 round(s)")
    assert "the answer was not usable" in result.message
    assert not (tmp_path / "p.yaml").exists()
    assert len(serving.calls) <= 2 * 3  # each round: one call plus the serving's bounded repairs


def test_cli_writes_a_spec_that_dataflow_run_runs(data, tmp_path, monkeypatch, capsys):
    serving = agent_model(fill=[fill(5)])
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


def test_a_candidate_filled_wrongly_twice_is_tried_with_its_defaults(tmp_path):
    # The model names detectors that do not exist, twice (measured: "EMAIL", "IP", "ID_NUMBER").
    data = tmp_path / "mails.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in ["write to ann@example.org", "no address"] * 4))
    wrong = {"params": [{"name": "detectors", "value": ["EMAIL", "ID_NUMBER"]}], "run": {"input_key": "text"}}
    serving = agent_model(fill={"PIIAnonymizeRefiner": [wrong]})
    result = build_pipeline("anonymize the email addresses in the text", data, serving=serving,
                            spec_out=tmp_path / "p.yaml", rows=8)
    assert result.ok, result.message
    verdicts = [e for e in SessionLog.load(result.session_path) if e.get("what") == "evidence"]
    assert [v["ok"] for v in verdicts] == [False, False, True]
    assert "unknown detectors" in verdicts[0]["why"]
    assert result.spec["steps"][0] == {"op": "PIIAnonymizeRefiner", "params": {}, "run": {"input_key": "text"}}
