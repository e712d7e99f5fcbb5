"""Smoke tests on the real embedded model (Qwen2.5-Coder-1.5B via llama.cpp). Kept short."""

from __future__ import annotations

import pytest

from dataflow.serving import LLMRequest
from dataflow.serving.embedded import EmbeddedServing

pytestmark = pytest.mark.llm

SCORE_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["score"],
    "additionalProperties": False,
}


def test_five_prompts_give_nonempty_answers(embedded_llm):
    prompts = [
        "Name the capital of France in one word.",
        "What is 6 times 7? Answer with the number only.",
        "Give one synonym of 'quick'.",
        "Translate 'thank you' into Spanish.",
        "Write a SQL keyword that filters groups.",
    ]
    before = embedded_llm.stats.snapshot()
    results = embedded_llm.chat(prompts, max_tokens=12)
    assert all(r.ok and r.text.strip() for r in results), [r.error for r in results]
    assert "Paris" in results[0].text and "42" in results[1].text
    assert "<|im_end|>" not in "".join(r.text for r in results)
    delta = embedded_llm.stats - before
    assert delta.requests == 5 and delta.tokens_out == sum(r.tokens_out for r in results) > 0
    assert all(0 < r.tokens_out <= 12 for r in results)


def test_twenty_schema_constrained_scores_are_all_valid(embedded_llm):
    snippets = [f"Fact {i}: water boils at 100 degrees Celsius at sea level." for i in range(10)] + [
        f"asdf {i} qwer zxcv lorem !!" for i in range(10)
    ]
    requests = [
        LLMRequest(
            prompt=f"Rate the factual quality of this text from 1 (junk) to 5 (clear fact):\n{s}",
            json_schema=SCORE_SCHEMA,
            max_tokens=16,
        )
        for s in snippets
    ]
    results = embedded_llm.generate(requests)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    scores = [r.parsed["score"] for r in results]
    assert all(1 <= s <= 5 for s in scores)
    assert min(scores[:10]) > max(scores[10:])  # facts outrank junk


def test_rerun_is_served_from_cache(embedded_llm, tmp_path):
    from dataflow.serving.cache import ResponseCache

    cached = EmbeddedServing(cache=ResponseCache(tmp_path / "c.sqlite"), engine=embedded_llm.engine)
    prompts = ["Say 'one'.", "Say 'two'."]
    first = cached.chat(prompts, max_tokens=6)
    second = cached.chat(prompts, max_tokens=6)
    assert cached.stats.requests == 2 and cached.stats.cache_hits == 2
    assert [r.text for r in second] == [r.text for r in first] and all(r.cached for r in second)
    cached.close()
    assert embedded_llm.engine is not None  # the shared engine outlives the wrapper


def test_greedy_decoding_is_deterministic(embedded_llm):
    requests = [LLMRequest(prompt=f"Continue the list: {w},", max_tokens=10) for w in ("red", "one", "cat")]
    first = [r.text for r in embedded_llm.generate(requests)]
    again = [r.text for r in embedded_llm.generate(requests)]
    assert first == again


def test_stop_strings_and_too_long_prompt(embedded_llm):
    [stopped] = embedded_llm.chat(["Count from 1 to 10 separated by commas."], max_tokens=40, stop=["5"])
    assert stopped.ok and "5" not in stopped.text and "4" in stopped.text
    [too_long] = embedded_llm.chat(["word " * 5000], max_tokens=4)
    assert not too_long.ok and "context" in too_long.error


def test_ignore_eos_runs_every_sequence_to_max_tokens(embedded_llm):
    from dataflow.serving.base import Call

    def call(ignore_eos: bool) -> Call:
        return Call(messages=[{"role": "user", "content": "Say 'hi' and nothing else."}], schema=None,
                    temperature=0.0, max_tokens=24, top_p=1.0, seed=None,
                    extra={"ignore_eos": True} if ignore_eos else {})

    free, forced = embedded_llm.engine.run([call(False), call(True)])
    assert free.finish_reason == "stop" and free.tokens_out < 24
    assert forced.finish_reason == "length" and forced.tokens_out == 24
    assert forced.text.startswith(free.text)  # the same greedy answer, carried on past its end
