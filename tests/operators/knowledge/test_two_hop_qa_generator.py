"""Text2MultiHopQAGenerator: bridges found in the text, one request per linked pair of sentences, and the
checks that keep only two-hop pairs the two facts support."""

from __future__ import annotations

import re

import pytest

from dataflow.operators.knowledge.two_hop_qa_generator import (
    Text2MultiHopQAGenerator,
    bridge_pairs,
    sentences,
)
from dataflow.testing import run_operator
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text

ESSAY = ("The Bitter Lesson is an essay written by Rich Sutton in 2019. "
         "Rich Sutton is a professor of computing science at the University of Alberta. "
         "Deep Blue defeated the world chess champion Garry Kasparov in 1997. "
         "Kasparov had been world champion since 1985 and was the highest rated player. "
         "The essay argues that general methods that leverage computation win in the long run.")


def test_sentences_and_bridges_come_from_the_text():
    found = sentences(ESSAY + "\n\n# Heading\n| a | b |\nShort one.")
    assert len(found) == 5 and found[1].startswith("Rich Sutton is")
    pairs = bridge_pairs(found, limit=5)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (2, 3)]  # each sentence at most once
    assert {b for _, _, b in pairs} == {"Rich Sutton", "Garry Kasparov"}
    # A word every sentence has links nothing.
    same = [f"Alpha number {n} is part of the common Zeta group of things here." for n in range(6)]
    assert bridge_pairs(same, limit=3) == []


def facts(call):
    text = user_text(call)
    return re.search(r"Fact 1: (.*)\n", text).group(1), re.search(r'mention "(.*?)"', text).group(1)


def test_only_pairs_that_need_both_facts_are_kept():
    answers = {
        "Rich Sutton": as_json(question="At which university is the author of The Bitter Lesson a professor?",
                               answer="The University of Alberta"),
        # names the bridge: a one-hop question in disguise
        "Garry Kasparov": as_json(question="Since when had Garry Kasparov been world champion?", answer="1985"),
    }
    serving = ScriptedServing(lambda call: answers[facts(call)[1]])
    rows = [{"cleaned_chunk": ESSAY, "source": "essay.md"}, {"cleaned_chunk": "One sentence only, nothing to link.",
                                                            "source": "tiny.md"}]
    result = run_operator(Text2MultiHopQAGenerator(num_q=3), rows, serving=serving)
    assert [(r["question"], r["answer"], r["bridge"], r["qa_type"], r["source"]) for r in result.kept] == [
        ("At which university is the author of The Bitter Lesson a professor?", "The University of Alberta",
         "Rich Sutton", "multi_hop", "essay.md")]
    assert result.kept[0]["supporting_facts"] == [
        "The Bitter Lesson is an essay written by Rich Sutton in 2019.",
        "Rich Sutton is a professor of computing science at the University of Alberta."]
    assert result.drop_reasons == ["no verified two-hop pair"]  # the text without a link: never sent
    assert len(serving.calls) == 2
    assert serving.calls[0].schema["required"] == ["question", "answer"]


@pytest.mark.parametrize("question, answer, why", [
    ("Who wrote the essay?", "Rich Sutton", "does not need both facts"),  # fact 1 alone answers it
    ("Where does Rich Sutton work?", "University of Alberta", "the question names the bridge"),
    ("Which essay did the Alberta professor write?", "The Bitter Lesson", None),
    ("Which essay did the Alberta professor write?", "Moby Dick by Herman Melville", "not supported by the facts"),
    ("In which year was the essay written?", "2019", "does not need both facts"),
    ("What did the professor of computing science write, an essay or a book?", "an essay",
     "answer empty or given in the question"),
])
def test_the_two_hop_checks(question, answer, why):
    op = Text2MultiHopQAGenerator()
    one = "The Bitter Lesson is an essay written by Rich Sutton in 2019."
    two = "Rich Sutton is a professor of computing science at the University of Alberta."
    assert op.check(question, answer, one, two, "Rich Sutton") == why


def test_a_text_whose_calls_all_fail_is_rejected():
    result = run_operator(Text2MultiHopQAGenerator(), [{"cleaned_chunk": ESSAY}],
                          serving=ScriptedServing(lambda call: None))
    assert not result.kept and result.reject_reasons and result.reject_reasons[0].startswith("llm")
