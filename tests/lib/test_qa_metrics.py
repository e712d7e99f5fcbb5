"""dataflow.lib.qa_metrics and the answer-score operators on it give HotpotQA's official numbers.

Crafted cases are checked against values worked out by hand; then a HotpotQA predictions file
(``{"answer": {id: text}, "sp": {...}}``, the official evaluation's input) for 30 dev questions is
written, read back and scored by AgenticRAGQAF1SampleEvaluator and AgenticRAGExactMatchEvaluator, and
their averages are compared with the official formula (the test's own statement of it) and with totals
counted by hand.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter

import pytest

from dataflow.lib.qa_metrics import exact_match, f1_precision_recall, normalize_answer, token_f1
from dataflow.operators.agentic_rag.answer_scores import (
    AgenticRAGExactMatchEvaluator,
    AgenticRAGQAF1SampleEvaluator,
)
from dataflow.testing import run_operator
from tests.shared_fixtures import FIXTURES

DEV = FIXTURES / "rag" / "hotpotqa_rpt" / "dev.jsonl"


def test_normalize_answer():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("An apple, a day.") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # articles go as whole words only
    assert normalize_answer("  ") == ""


# (prediction, references, F1, precision, recall, EM), worked out by hand.
CRAFTED = [
    ("The Eiffel Tower", "eiffel tower", 1.0, 1.0, 1.0, True),
    ("Paris, France", "Paris", 2 / 3, 1 / 2, 1.0, False),  # 1 common token of 2 predicted, 1 gold
    ("in the year 1889", "1889", 1 / 2, 1 / 3, 1.0, False),  # "in year 1889": P 1/3, R 1
    ("cat cat", "the cat", 2 / 3, 1 / 2, 1.0, False),  # tokens are a multiset: "cat" is common once
    ("George Washington", "Washington, George", 1.0, 1.0, 1.0, False),  # order does not count for F1
    ("yes", "Yes.", 1.0, 1.0, 1.0, True),
    ("yes", "no", 0.0, 0.0, 0.0, False),
    ("yes it is", "yes", 0.0, 0.0, 0.0, False),  # HotpotQA's rule; plain token F1 would be 1/2
    ("no idea, the answer is yes", "yes", 0.0, 0.0, 0.0, False),
    ("noanswer", "noanswer", 1.0, 1.0, 1.0, True),
    ("no answer", "noanswer", 0.0, 0.0, 0.0, False),
    ("", "Paris", 0.0, 0.0, 0.0, False),
    ("New York City", ["NYC", "New York"], 0.8, 2 / 3, 1.0, False),  # the best reference counts
    ("nyc", ["NYC", "New York"], 1.0, 1.0, 1.0, True),
    ("Paris", [], 0.0, 0.0, 0.0, False),
]


@pytest.mark.parametrize("prediction,refs,f1,precision,recall,em", CRAFTED)
def test_crafted_cases_score_as_worked_out_by_hand(prediction, refs, f1, precision, recall, em):
    assert token_f1(prediction, refs) == pytest.approx(f1)
    assert exact_match(prediction, refs) is em
    if isinstance(refs, str):
        assert f1_precision_recall(prediction, refs) == pytest.approx((f1, precision, recall))
    rows = [{"refined_answer": prediction, "golden_doc_answer": refs}]
    scored = run_operator(AgenticRAGQAF1SampleEvaluator(), rows, output_precision_key="P",
                          output_recall_key="R").kept[0]
    assert (scored["F1Score"], scored["P"], scored["R"]) == pytest.approx((f1, precision, recall))
    assert run_operator(AgenticRAGExactMatchEvaluator(), rows).kept[0]["ExactMatch"] is em


# ------------------------------------------------------------------------ the official formula


def official_normalize(text: str) -> str:
    text = text.lower()
    text = "".join(c for c in text if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def official_scores(prediction: str, gold: str) -> tuple[float, float, float, float]:
    """(EM, F1, precision, recall) of one answer as HotpotQA's evaluation computes them."""
    pred, ref = official_normalize(prediction), official_normalize(gold)
    em = float(pred == ref)
    if pred in ("yes", "no", "noanswer") and pred != ref:
        return em, 0.0, 0.0, 0.0
    if ref in ("yes", "no", "noanswer") and pred != ref:
        return em, 0.0, 0.0, 0.0
    common = Counter(pred.split()) & Counter(ref.split())
    same = sum(common.values())
    if same == 0:
        return em, 0.0, 0.0, 0.0
    precision, recall = same / len(pred.split()), same / len(ref.split())
    return em, 2 * precision * recall / (precision + recall), precision, recall


SUFFIX = " plus zebra quokka"  # three tokens no gold answer has


def predictions_for(questions: list[dict]) -> dict[str, str]:
    """24 open answers, in turns: the gold answer as it is, the gold answer re-cased with an article and a
    full stop (exact after normalisation), the gold answer with three words more (partial), a wrong
    answer; and 6 yes/no questions: 2 right, 1 right but with more words (0 by HotpotQA's rule), 1
    flipped, 1 ``noanswer``, 1 left out of the file."""
    out = {}
    open_questions = [q for q in questions if q["answer"].lower() not in ("yes", "no")]
    closed = [q for q in questions if q["answer"].lower() in ("yes", "no")]
    for i, q in enumerate(open_questions):
        gold = q["answer"]
        out[q["id"]] = [gold, f"the {gold.upper()}.", gold + SUFFIX, "banana split"][i % 4]
    flipped = {"yes": "no", "no": "yes"}
    for q, how in zip(closed, ["right", "right", "more", "flip", "noanswer", "missing"]):
        gold = q["answer"].lower()
        if how != "missing":
            out[q["id"]] = {"right": gold.capitalize() + ".", "more": f"{gold}, it is", "flip": flipped[gold],
                            "noanswer": "noanswer"}[how]
    return out


def test_evaluators_match_the_official_formula_on_a_predictions_file(tmp_path):
    if not DEV.is_file():
        pytest.skip(f"HotpotQA fixture not found at {DEV} (the shared fixtures are absent)")
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    open_qs = [r for r in rows if r["answer"].lower() not in ("yes", "no")][:24]
    closed_qs = [r for r in rows if r["answer"].lower() in ("yes", "no")][:6]
    questions = open_qs + closed_qs
    assert len(closed_qs) == 6 and not any(w in official_normalize(q["answer"]).split()
                                           for q in open_qs for w in SUFFIX.split())

    path = tmp_path / "pred.json"  # the official evaluation's prediction file
    path.write_text(json.dumps({"answer": predictions_for(questions), "sp": {}}), encoding="utf-8")
    answers = json.loads(path.read_text(encoding="utf-8"))["answer"]
    table = [{"id": q["id"], "refined_answer": answers.get(q["id"]), "golden_doc_answer": q["answer"]}
             for q in questions]

    f1_rows = run_operator(AgenticRAGQAF1SampleEvaluator(), table, output_precision_key="precision",
                           output_recall_key="recall").kept
    em_rows = run_operator(AgenticRAGExactMatchEvaluator(), table).kept
    assert [r["id"] for r in f1_rows] == [q["id"] for q in questions] == [r["id"] for r in em_rows]

    # The official formula, question by question; a question without a prediction scores 0.
    official = [official_scores(answers[q["id"]], q["answer"]) if q["id"] in answers else (0.0,) * 4
                for q in questions]
    for mine, em_row, theirs in zip(f1_rows, em_rows, official):
        assert (float(em_row["ExactMatch"]), mine["F1Score"], mine["precision"], mine["recall"]) == \
            pytest.approx(theirs)

    def mean(values):
        return sum(values) / len(values)

    em = mean([float(r["ExactMatch"]) for r in em_rows])
    f1, precision, recall = (mean([r[k] for r in f1_rows]) for k in ("F1Score", "precision", "recall"))
    assert (em, f1, precision, recall) == pytest.approx(tuple(mean(col) for col in zip(*official)))

    # Totals counted by hand: 6 + 6 open answers exact, 2 yes/no right; a partial answer of n gold
    # tokens has the 3 suffix tokens more: precision n / (n + 3), recall 1, F1 2n / (2n + 3).
    assert em == pytest.approx(14 / 30)
    partial_n = [len(official_normalize(q["answer"]).split()) for q in open_qs[2::4]]
    assert len(partial_n) == 6
    assert f1 == pytest.approx((14 + sum(2 * n / (2 * n + 3) for n in partial_n)) / 30)
    assert precision == pytest.approx((14 + sum(n / (n + 3) for n in partial_n)) / 30)
    assert recall == pytest.approx((14 + 6) / 30)
