import json

from dataflow.agent.session import ReplayServing, SessionLog, session_path
from dataflow.core.llm_types import LLMRequest


def test_events_are_written_as_they_happen_and_load_back(tmp_path):
    path = session_path(tmp_path / "out" / "pipe.yaml")
    assert path == tmp_path / "out" / "pipe.agent.jsonl"
    log = SessionLog(path)
    log.record("start", request="clean it", input="in.jsonl")
    call = log.prompt([{"role": "user", "content": "plan"}], schema={"type": "object"})
    assert path.read_text().count("\n") == 2  # flushed before the answer exists
    log.answer(call, '{"steps": []}')
    log.decision("compile", ok=False, problems=["no steps"])
    events = SessionLog.load(path)
    assert [e["kind"] for e in events] == ["start", "prompt", "answer", "decision"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4] and events[2]["call"] == call == 1
    assert events == log.events and log.of_kind("decision")[0]["problems"] == ["no steps"]


def test_replay_answers_in_order_and_refuses_a_different_prompt(tmp_path):
    log = SessionLog(tmp_path / "s.agent.jsonl")
    request = LLMRequest(messages=[{"role": "user", "content": "plan A"}], system="be brief",
                         json_schema={"type": "object"})
    for text in ('{"steps": 1}', '{"steps": 2}'):
        log.answer(log.prompt(request.chat_messages()), text)
    replay = ReplayServing.from_log(log.path)
    first, second, third = replay.generate([request, request, request])
    assert first.text == '{"steps": 1}' and first.parsed == {"steps": 1} and second.parsed == {"steps": 2}
    assert "no more answers" in third.error
    other = LLMRequest(messages=[{"role": "user", "content": "plan B"}])
    assert "differs from the recorded prompt" in ReplayServing(log.events).generate([other])[0].error
    assert ReplayServing(log.events, strict=False).generate([other])[0].text == '{"steps": 1}'
    assert json.loads(log.path.read_text().splitlines()[0])["kind"] == "prompt"
