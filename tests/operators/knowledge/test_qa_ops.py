"""The QA operators of knowledge extraction with a scripted serving: KBCMultiHopQAGenerator (pairs as new
rows, schema-bounded), KBCQASupportFilter (word-overlap check, optional LLM judge) and QAExtractor (SFT
formats)."""

from __future__ import annotations

import json

import pytest

from dataflow.operators.knowledge.multihop_qa_generator import KBCMultiHopQAGenerator
from dataflow.operators.knowledge.qa_extractor import QAExtractor
from dataflow.operators.knowledge.qa_support_filter import KBCQASupportFilter
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

CHUNK = ("DataFlow is a framework for preparing LLM training data. Its pipelines are built from operators. "
         "Each operator reads columns and writes columns. The knowledge pipeline turns PDF documents into "
         "question-answer pairs.")


def pair(question, answer, facts, hop="single_hop"):
    return {"question": question, "answer": answer, "supporting_facts": facts, "type": hop}


def test_each_pair_becomes_a_row_beside_its_chunk_and_bad_pairs_are_left_out():
    answers = {
        "DataFlow is": as_json(qa_pairs=[
            pair("What is DataFlow?", "A framework for preparing LLM training data.",
                 ["DataFlow is a framework for preparing LLM training data."]),
            pair("What does the knowledge pipeline of the operator-built framework produce?",
                 "Question-answer pairs from PDF documents.",
                 ["Its pipelines are built from operators.",
                  "The knowledge pipeline turns PDF documents into question-answer pairs."], "multi_hop"),
            pair("what is dataflow?", "Repeated.", ["DataFlow is a framework."]),  # same question again
            pair("  ", "No question.", ["x"]),
        ]),
        "Nothing usable": as_json(qa_pairs=[pair(" ", " ", [" "])]),
        "Broken": None,  # the call fails
    }

    def respond(call):
        passage = user_text(call).split("Passage:\n", 1)[1]
        return next(a for key, a in answers.items() if passage.startswith(key))

    serving = ScriptedServing(respond)
    rows = [{"cleaned_chunk": CHUNK, "source": "a.pdf"}, {"cleaned_chunk": "too short", "source": "b.pdf"},
            {"cleaned_chunk": "Nothing usable " * 10, "source": "c.pdf"},
            {"cleaned_chunk": "Broken " * 20, "source": "d.pdf"}]
    result = run_operator(KBCMultiHopQAGenerator(num_q=4), rows, serving=serving)
    assert [(r["question"], r["qa_type"], r["source"]) for r in result.kept] == [
        ("What is DataFlow?", "single_hop", "a.pdf"),
        ("What does the knowledge pipeline of the operator-built framework produce?", "multi_hop", "a.pdf")]
    assert result.kept[1]["supporting_facts"][1].startswith("The knowledge pipeline")
    assert all(r["cleaned_chunk"] == CHUNK for r in result.kept)
    assert result.drop_reasons == ["no QA pair generated"]  # the short chunk, never sent
    assert [r.split(":")[0] for r in result.reject_reasons] == ["invalid answer", "llm"]
    assert len(serving.calls) == 3
    prompt = user_text(serving.calls[0])
    assert "Write 4 pairs" in prompt and prompt.endswith(CHUNK)
    assert serving.calls[0].schema["properties"]["qa_pairs"]["maxItems"] == 4


def test_the_schema_bounds_the_pairs():
    schema = KBCMultiHopQAGenerator(num_q=2, max_answer_chars=50, max_facts=2).schema()
    pairs = schema["properties"]["qa_pairs"]
    assert (pairs["minItems"], pairs["maxItems"]) == (1, 2)
    item = pairs["items"]["properties"]
    assert item["answer"]["maxLength"] == 50 and item["supporting_facts"]["maxItems"] == 2
    assert item["type"]["enum"] == ["single_hop", "multi_hop"]
    with pytest.raises(ValueError):
        KBCMultiHopQAGenerator(num_q=0)


QA_ROWS = [
    # supported: answer and evidence in the chunk (inflections differ: "prepare" / "preparing")
    {"question": "What is DataFlow?", "answer": "A framework to prepare training data for LLMs.",
     "supporting_facts": ["DataFlow is a framework for preparing LLM training data."]},
    # the answer's figure is not in the chunk
    {"question": "How many operators?", "answer": "DataFlow ships 250 operators written in Rust.",
     "supporting_facts": ["Its pipelines are built from operators."]},
    # the answer is fine, but the evidence was made up
    {"question": "What do operators do?", "answer": "They read columns and write columns.",
     "supporting_facts": ["Operators are compiled to GPU kernels by a JIT compiler."]},
    # no evidence given
    {"question": "What are pipelines built from?", "answer": "Operators.", "supporting_facts": []},
    # a yes/no answer has no content words: the evidence decides
    {"question": "Does the knowledge pipeline read PDFs?", "answer": "Yes.",
     "supporting_facts": ["The knowledge pipeline turns PDF documents into question-answer pairs."]},
    # answer and evidence from the chunk, but the question is about something else
    {"question": "Who wrote the Divine Comedy in medieval Italy?", "answer": "DataFlow.",
     "supporting_facts": ["DataFlow is a framework for preparing LLM training data."]},
]


def test_support_check_keeps_supported_pairs_and_says_why_it_drops_the_others():
    rows = [{**r, "cleaned_chunk": CHUNK} for r in QA_ROWS]
    result = run_operator(KBCQASupportFilter(), rows)
    assert [r["question"] for r in result.kept] == ["What is DataFlow?", "Does the knowledge pipeline read PDFs?"]
    assert result.kept[0]["support_score"] == 1.0
    assert result.drop_reasons[0].startswith("answer not in chunk: 0.33 of its content words < 0.6")
    assert result.drop_reasons[1].startswith('evidence not in chunk: "Operators are compiled to GPU kernels')
    assert result.drop_reasons[2] == "no supporting sentence"
    assert result.drop_reasons[3] == "question not about chunk: 0.00 of its content words < 0.4"
    # Looser bounds are params: without required evidence the evidence-less pair stays.
    loose = run_operator(KBCQASupportFilter(require_evidence=False), rows)
    assert "What are pipelines built from?" in [r["question"] for r in loose.kept]


def test_llm_judge_sees_only_pairs_that_passed_the_word_check():
    def judge(call):
        text = user_text(call)
        if "Does the knowledge pipeline" in text:
            return None  # failed call: the pair is rejected, not dropped
        return as_json(supported=False, reason="the passage does not mention LLMs")

    serving = ScriptedServing(judge)
    op = KBCQASupportFilter(llm_judge=True)
    assert op.resources == ("llm",) and KBCQASupportFilter().resources == ()
    result = run_operator(op, [{**r, "cleaned_chunk": CHUNK} for r in QA_ROWS], serving=serving)
    assert result.kept == []
    assert len(serving.calls) == 2
    assert "llm judge: the passage does not mention LLMs" in result.drop_reasons
    assert [r.split(":")[0] for r in result.reject_reasons] == ["llm"]


QA = [{"question": "What is DataFlow?", "answer": "A data preparation framework.", "cleaned_chunk": CHUNK},
      {"question": "Empty answer?", "answer": "", "cleaned_chunk": CHUNK}]


def test_qa_extractor_writes_alpaca_sharegpt_and_llamafactory_records():
    alpaca = run_operator(QAExtractor(), QA)
    assert alpaca.written == ["instruction", "input", "output"]
    assert {k: alpaca.kept[0][k] for k in alpaca.written} == {
        "instruction": "What is DataFlow?", "input": "", "output": "A data preparation framework."}
    assert alpaca.drop_reasons == ["empty question or answer"]

    with_context = run_operator(QAExtractor(include_context=True, instruction="Use the text.",
                                            system_prompt="You are precise."), QA)
    row = with_context.kept[0]
    assert (row["instruction"], row["input"], row["system"]) == (
        "Use the text.\n\nWhat is DataFlow?", CHUNK, "You are precise.")

    sharegpt = run_operator(QAExtractor(format="sharegpt"), QA)
    assert sharegpt.written == ["conversations"]
    assert sharegpt.kept[0]["conversations"] == [{"from": "human", "value": "What is DataFlow?"},
                                                 {"from": "gpt", "value": "A data preparation framework."}]
    messages = run_operator(QAExtractor(format="llamafactory", include_context=True, system_prompt="S"), QA)
    turns = messages.kept[0]["messages"]
    assert [t["role"] for t in turns] == ["system", "user", "assistant"]
    assert CHUNK in turns[1]["content"] and turns[1]["content"].endswith("Question: What is DataFlow?")
    json.dumps(messages.kept[0]["messages"])  # a plain JSON record
    with pytest.raises(ValueError):
        QAExtractor(format="csv")


def test_qa_extractor_without_context_does_not_need_the_chunk_column():
    result = run_operator(QAExtractor(), [{"question": "Q?", "answer": "A."}])
    assert result.kept[0]["output"] == "A."
