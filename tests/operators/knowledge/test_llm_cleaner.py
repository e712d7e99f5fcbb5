"""KBCTextCleaner with a scripted serving: answers read, and empty, garbled or content-losing ones rejected."""

from __future__ import annotations

from dataflow.core.llm_types import LLMResult
from dataflow.operators.knowledge.llm_cleaner import KBCTextCleaner
from dataflow.testing import run_operator
from tests.core.test_llm_operator import EchoServing

CHUNK = ("<div>Retrieval-augmented generation (RAG) combines a retriever with a gen-\nerator.</div>\n"
         "Page 3\n\nIt was introduced in 2020 by Lewis et al.")
CLEAN = ("Retrieval-augmented generation (RAG) combines a retriever with a generator.\n\n"
         "It was introduced in 2020 by Lewis et al.")


class ScriptedServing(EchoServing):
    """Answers the prompt whose passage starts with a key with that key's answer; records the requests."""

    def answer(self, request):
        passage = request.prompt.split("Passage:\n", 1)[1]
        return next(a for key, a in self.answers.items() if passage.startswith(key))


def _rows(*texts):
    return [{"raw_chunk": t} for t in texts]


def test_cleaned_text_is_read_from_the_tags_or_a_fence_or_whole():
    serving = ScriptedServing({
        "<div>": f"Sure! Here it is:\n<cleaned>\n{CLEAN}\n</cleaned>",
        "A second": "```markdown\nA second chunk, fenced by the model.\n```",
        "Third": "Third chunk, answered bare.",
    })
    result = run_operator(KBCTextCleaner(), _rows(CHUNK, "A second chunk, fenced by the model.",
                                                  "Third chunk, answered bare.", "", None), serving=serving)
    assert [r["cleaned_chunk"] for r in result.kept] == [
        CLEAN, "A second chunk, fenced by the model.", "Third chunk, answered bare.", None, None]
    assert len(serving.requests) == 3  # empty chunks are not sent
    assert "Passage:\n<div>Retrieval" in serving.requests[0].prompt
    assert result.written == ["cleaned_chunk"]


def test_empty_garbled_and_content_losing_answers_are_rejected_with_reasons():
    long_chunk = " ".join(f"Fact {i}: the value is {i * 7}." for i in range(20))
    serving = ScriptedServing({
        "Empty": "<cleaned>  </cleaned>",
        "Broken": "Broken \ufffd\ufffd text here.",
        "Loop": "\n".join(["the same line"] * 10),
        "Fact 0": "<cleaned>Fact 0: the value is 0.</cleaned>",  # most of the content dropped
        "Short": "Short note. " * 10,  # content added
        "Down": LLMResult(error="HTTP 503"),
    })
    texts = ["Empty chunk here.", "Broken text here.", "Loop over:\n" + "\n".join(f"line {i}" for i in range(10)),
             long_chunk, "Short note.", "Down we go."]
    result = run_operator(KBCTextCleaner(), _rows(*texts), serving=serving)
    assert result.kept == []
    assert result.reject_reasons == [
        "invalid answer: empty",
        "invalid answer: garbled: replacement characters",
        "invalid answer: garbled: the answer repeats itself",
        "invalid answer: dropped content: 0.05 of the input's letters and digits < 0.5",
        "invalid answer: added content: 10.00 of the input's letters and digits > 1.5",
        "llm: HTTP 503",
    ]
    # The guard is a param: a looser bound keeps the short answer.
    loose = run_operator(KBCTextCleaner(min_length_ratio=0.04), _rows(long_chunk), serving=serving)
    assert loose.kept[0]["cleaned_chunk"] == "Fact 0: the value is 0."
