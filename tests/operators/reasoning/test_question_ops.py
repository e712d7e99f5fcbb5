"""Question operators (filter, synthesis, difficulty, category) on a scripted, rule-based LLM."""

from __future__ import annotations

import json

import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.errors import ParamsError
from dataflow.operators.reasoning.question_classification import (
    ReasoningQuestionCategorySampleEvaluator,
    ReasoningQuestionDifficultySampleEvaluator,
)
from dataflow.operators.reasoning.question_filter import ReasoningQuestionFilter
from dataflow.operators.reasoning.question_synthesis import (
    ReasoningQuestionFusionGenerator,
    ReasoningQuestionGenerator,
)
from tests.operators.reasoning.scripted_serving import (
    ScriptedServing,
    as_json,
    dropped_rows,
    problem_of,
    rejected_rows,
    user_text,
)

QUESTIONS = [
    "Tom has 3 apples and buys 4 more. How many apples does he have?",
    "A train leaves.",  # no question, no numbers
    "What is 12 * 3 + 1?",
    "BROKEN: the judge answers with something that is not JSON?",
]


def judge(call) -> str:
    problem = problem_of(call)
    if problem.startswith("BROKEN"):
        return "I refuse to answer in JSON."
    if "?" not in problem or not any(ch.isdigit() for ch in problem):
        return as_json(reason="It states no quantity to compute.", is_valid=False)
    return as_json(reason="Complete and solvable.", is_valid=True)


def test_question_filter_keeps_valid_drops_invalid_rejects_failures() -> None:
    serving = ScriptedServing(judge)
    storage = DataFrameStorage([{"question": q} for q in QUESTIONS + ["   "]])
    ReasoningQuestionFilter(llm_serving=serving).run(storage, output_reason_key="why")
    assert storage.frame["question"].tolist() == [QUESTIONS[0], QUESTIONS[2]]
    assert storage.frame["why"].tolist() == ["Complete and solvable."] * 2
    dropped = {r["question"]: r["_drop_reason"] for r in dropped_rows(storage)}
    assert dropped == {QUESTIONS[1]: "invalid question: It states no quantity to compute.",
                       "   ": "empty question"}
    rejected = rejected_rows(storage)
    assert [r["question"] for r in rejected] == [QUESTIONS[3]]
    assert "schema-invalid" in rejected[0]["_reject_reason"]
    # The blank question never reached the model; the broken one was retried (repair) then given up.
    assert all("   " != problem_of(c) for c in serving.calls)
    # The schema sent to the model is the {reason, is_valid} object.
    assert serving.calls[0].schema["required"] == ["reason", "is_valid"]


def test_question_filter_checks_only_listed_sources() -> None:
    serving = ScriptedServing(judge)
    storage = DataFrameStorage([{"question": "A train leaves.", "src": "seed"},
                                {"question": "A bus leaves.", "src": "generated"}])
    ReasoningQuestionFilter(check_sources=["generated"], llm_serving=serving).run(
        storage, input_source_key="src")
    assert storage.frame["question"].tolist() == ["A train leaves."]
    assert len(serving.calls) == 1


def _generated(call) -> str:
    seed_question = user_text(call).split("seed math word problem:\n", 1)[1].split("\n\n")[0]
    n = int(call.schema["properties"]["questions"]["minItems"])
    new = [f"Variant {k} of: {seed_question}" for k in range(n - 1)]
    return as_json(questions=[*new, seed_question])  # the last one repeats the seed: discarded


def test_question_generator_adds_rows_with_parent_ids_and_clears_seed_answers() -> None:
    serving = ScriptedServing(_generated)
    storage = DataFrameStorage([{"question": QUESTIONS[0], "gold": "7"}, {"question": QUESTIONS[2], "gold": "37"}])
    ReasoningQuestionGenerator(num_prompts=3, clear_columns=["gold"], llm_serving=serving).run(storage)
    frame = storage.frame
    assert frame["_row_id"].tolist() == ["1.0", "1.1", "1.2", "2.0", "2.1", "2.2"]
    assert frame["question_source"].tolist() == ["seed", "generated", "generated"] * 2
    assert frame["question"].iloc[1] == f"Variant 0 of: {QUESTIONS[0]}"
    assert frame["gold"].fillna("-").tolist() == ["7", "-", "-", "37", "-", "-"]
    # Distinct rows sample with distinct seeds; a re-run would reuse them.
    assert len({c.seed for c in serving.calls}) == 2


def test_question_generator_without_seed_rejects_failed_calls() -> None:
    def respond(call):
        return None if "FAIL" in user_text(call) else _generated(call)

    storage = DataFrameStorage([{"question": "FAIL this one?"}, {"question": QUESTIONS[0]}])
    ReasoningQuestionGenerator(num_prompts=2, keep_seed=False, llm_serving=ScriptedServing(respond)).run(
        storage, output_key="new_question")
    assert storage.frame["new_question"].tolist() == [f"Variant 0 of: {QUESTIONS[0]}"]
    assert [(r["question"], r["_reject_reason"]) for r in rejected_rows(storage)] == [
        ("FAIL this one?", "llm: scripted failure")]
    assert dropped_rows(storage) == []


def test_question_fusion_pairs_rows_and_records_partner() -> None:
    def fuse(call):
        text = user_text(call)
        a = text.split("Problem A:\n", 1)[1].split("\n\n")[0]
        b = text.split("Problem B:\n", 1)[1].split("\n\n")[0]
        return as_json(question=f"First: {a} Then: {b}")

    rows = [{"question": f"How many is {k} + {k}?"} for k in range(5)]
    storage = DataFrameStorage(rows)
    ReasoningQuestionFusionGenerator(shuffle=False, llm_serving=ScriptedServing(fuse)).run(storage)
    frame = storage.frame
    fused = frame[frame["question_source"] == "fused"]
    assert len(frame) == 5 + 2  # two pairs, the fifth row is left unpaired
    assert fused["question"].tolist() == [
        "First: How many is 0 + 0? Then: How many is 1 + 1?",
        "First: How many is 2 + 2? Then: How many is 3 + 3?",
    ]
    assert fused["fusion_partner"].tolist() == ["2", "4"]
    assert frame[frame["question_source"] == "seed"]["fusion_partner"].isna().all()


def test_shuffled_fusion_pairs_by_seed_and_repeats_on_rerun() -> None:
    def fuse(call):
        text = user_text(call)
        return as_json(question="Fused: " + text.split("Problem A:\n", 1)[1].split("\n\n")[0])

    rows = [{"question": f"How many is {k} + {k}?"} for k in range(6)]
    runs = []
    for _ in range(2):
        storage = DataFrameStorage(rows)
        ReasoningQuestionFusionGenerator(seed=3, keep_seed=False, llm_serving=ScriptedServing(fuse)).run(storage)
        runs.append(storage.frame[["_row_id", "fusion_partner"]].values.tolist())
    assert runs[0] == runs[1] and len(runs[0]) == 3  # three pairs, the same ones on a re-run
    paired = {r for row_id, partner in runs[0] for r in (row_id.split(".")[0], partner)}
    assert paired == {str(k) for k in range(1, 7)}


def test_difficulty_and_category_are_schema_constrained() -> None:
    def label(call):
        props = call.schema["properties"]
        if "difficulty" in props:
            assert props["difficulty"] == {"type": "integer", "enum": list(range(1, 11))}
            problem = problem_of(call)
            return as_json(reason="count the operations", difficulty=min(10, 1 + problem.count(" ")))
        assert props["category"]["enum"] == ["arithmetic", "geometry"]
        return as_json(category="geometry" if "triangle" in user_text(call) else "arithmetic")

    serving = ScriptedServing(label)
    storage = DataFrameStorage([{"question": "What is 1 + 1?"}, {"question": "A triangle has sides 3, 4, 5?"}])
    ReasoningQuestionDifficultySampleEvaluator(llm_serving=serving).run(storage)
    ReasoningQuestionCategorySampleEvaluator(categories=["arithmetic", "geometry"], llm_serving=serving).run(storage)
    frame = storage.frame
    assert frame["question_difficulty"].tolist() == [5, 7]
    assert frame["question_difficulty_reason"].tolist() == ["count the operations"] * 2
    assert frame["question_category"].tolist() == ["arithmetic", "geometry"]
    # The categories reach the prompt too.
    assert "Choose one of: arithmetic, geometry." in user_text(serving.calls[-1])


def test_out_of_range_difficulty_is_repaired_or_rejected() -> None:
    serving = ScriptedServing(lambda call: json.dumps({"reason": "very hard", "difficulty": 11}))
    storage = DataFrameStorage([{"question": "What is 2 + 2?"}])
    ReasoningQuestionDifficultySampleEvaluator(llm_serving=serving).run(storage)
    assert len(storage.frame) == 0
    assert "schema-invalid" in rejected_rows(storage)[0]["_reject_reason"]


def test_category_params_are_validated() -> None:
    with pytest.raises(ParamsError):
        ReasoningQuestionCategorySampleEvaluator(categories="algebra")  # not a list
    with pytest.raises(ValueError):
        ReasoningQuestionCategorySampleEvaluator(categories=["a", "a"])
