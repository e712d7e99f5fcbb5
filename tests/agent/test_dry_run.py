import json
import threading
import time

from dataflow.agent.dry_run import dry_run
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

TEXTS = ["one two three four five six", "short", "a b c d e f g h", "tiny text", "alpha beta gamma delta epsilon"]


def write_input(tmp_path, n=5):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": TEXTS[i % len(TEXTS)], "id": i}) + "\n" for i in range(n)))
    return path


def spec(*steps):
    return {"input": "ignored.jsonl", "steps": list(steps)}


WORDS = {"op": "WordNumberFilter", "params": {"min_words": 3}, "run": {"input_key": "text"}}


def test_a_working_spec_reports_rows_drops_and_columns(tmp_path):
    report = dry_run(spec(WORDS), write_input(tmp_path, 10), rows=5, expect_columns=["word_count"])
    assert report.ok and report.problems == [] and not report.timed_out
    assert (report.rows_in, report.rows_out) == (5, 3)
    step = report.steps[0]
    assert (step.index, step.op, step.rows_in, step.rows_out, step.dropped) == (1, "WordNumberFilter", 5, 3, 2)
    assert step.drop_reasons == [("word_count < 3", 2)]
    assert report.output_columns == {"text": 3, "id": 3, "word_count": 3}
    assert "step 1 WordNumberFilter: 5 in, 3 out; dropped 2 (word_count < 3 x2)" in report.to_text()
    assert report.as_dict()["steps"][0]["op"] == "WordNumberFilter"


def test_compile_problems_are_the_findings(tmp_path):
    bad = spec({"op": "WordNumberFilter", "params": {"min_words": "many"}, "run": {"input_key": "body"}},
               {"op": "NoSuchOperatorAtAll", "params": {}, "run": {}})
    report = dry_run(bad, write_input(tmp_path))
    assert not report.ok and report.compile_problems and not report.steps
    text = " ".join(report.problems)
    assert "min_words" in text and "NoSuchOperatorAtAll" in text
    assert all(p.startswith("does not compile: ") for p in report.problems)


def test_dropping_everything_and_missing_columns_are_problems(tmp_path):
    strict = {"op": "WordNumberFilter", "params": {"min_words": 100}, "run": {"input_key": "text"}}
    report = dry_run(spec(strict), write_input(tmp_path), expect_columns=["summary"])
    assert not report.ok and report.rows_out == 0
    assert any("dropped 5 of 5 rows (word_count < 100)" in p for p in report.problems)
    assert "no row came out of the pipeline" in report.problems
    assert "the expected output column 'summary' is missing" in report.problems


def test_a_runaway_step_is_killed_at_the_time_limit(tmp_path):
    sleepy = {"op": "tests.agent.slow_ops:SleepyRefiner", "params": {"seconds": 60}, "run": {"input_key": "text"}}
    started = time.monotonic()
    report = dry_run(spec(sleepy), write_input(tmp_path), time_limit_s=2)
    assert time.monotonic() - started < 15
    assert report.timed_out and not report.ok
    assert "did not finish within the time limit" in report.problems[0]


def scorer(threshold=None):
    step = {"op": "PromptedEvaluator", "params": {}, "run": {"input_key": "text"}}
    if threshold is not None:
        step = {"op": "PromptedFilter", "params": {"threshold": threshold}, "run": {"input_key": "text"}}
    return step


def test_llm_steps_run_on_the_given_serving_and_rejects_are_counted(tmp_path):
    def respond(call):
        return None if "tiny" in user_text(call) else as_json(reason="fine", score=4)

    serving = ScriptedServing(respond)
    report = dry_run(spec(scorer()), write_input(tmp_path), serving=serving, expect_columns=["llm_score"])
    assert len(serving.calls) == 5  # in this process: the serving is not copied into a child
    step = report.steps[0]
    assert (step.rows_in, step.rows_out, step.rejected) == (5, 4, 1)
    assert step.reject_reasons[0][0].startswith("llm: ")
    assert report.ok  # 1 in 5 rejected is within max_reject_share=0.2
    assert report.output_columns["llm_score"] == 4
    report = dry_run(spec(scorer()), write_input(tmp_path), serving=serving, max_reject_share=0.1)
    assert any("could not process 1 of 5 rows (llm: " in p for p in report.problems)


def test_a_hanging_serving_does_not_hang_the_dry_run(tmp_path):
    release = threading.Event()

    def respond(call):
        release.wait(60)
        return as_json(reason="late", score=5)

    started = time.monotonic()
    try:
        report = dry_run(spec(scorer()), write_input(tmp_path), serving=ScriptedServing(respond), time_limit_s=1)
    finally:
        release.set()
    assert time.monotonic() - started < 12
    assert report.timed_out and not report.ok


def test_requests_after_the_deadline_fail_fast(tmp_path):
    def respond(call):
        time.sleep(0.3)
        return as_json(reason="ok", score=5)

    serving = ScriptedServing(respond)
    # One request per call: the LLM base batches a chunk, so use many chunks of one row each.
    steps = spec(scorer(threshold=3))
    steps["chunk_size"] = 1
    report = dry_run(steps, write_input(tmp_path, 10), rows=10, serving=serving, time_limit_s=1)
    assert report.timed_out and len(serving.calls) < 10
    assert any("dry run time limit reached" in r for s in report.steps for r, _ in s.reject_reasons)
