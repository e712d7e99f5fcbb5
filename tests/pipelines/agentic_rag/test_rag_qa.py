"""The agentic RAG QA pipeline: wiring (YAML == Python), a scripted run (yields and reasons per step in
run.json; the deeper step's NEW question is what the second check verifies; wider pairs come from
retrieval), and the acceptance run on 30 HotpotQA paragraphs with the embedded model."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS
from dataflow.lib.qa_metrics import token_f1
from dataflow.pipelines.agentic_rag import rag_qa
from dataflow.pipelines.agentic_rag.rag_qa import SPEC_PATH, AgenticRAGQAPipeline
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text
from tests.shared_fixtures import FIXTURES

pytest.importorskip("bm25s")
PASSAGES = SPEC_PATH.parent / "examples" / "passages.jsonl"
HOTPOT = FIXTURES / "rag" / "hotpotqa_rpt" / "dev.jsonl"
F1_STEP = "AgenticRAGQAF1SampleEvaluator"  # ragret's operator: skipped here until that branch is merged
HAS_F1 = F1_STEP in OPERATORS.all()


@pytest.fixture(autouse=True)
def _without_missing_f1(monkeypatch):
    if not HAS_F1:
        steps = rag_qa.rag_qa_steps
        monkeypatch.setattr(rag_qa, "rag_qa_steps", lambda **kw: [s for s in steps(**kw) if s[0] != F1_STEP])


def spec_steps(spec: dict) -> list[dict]:
    return [s for s in spec["steps"] if HAS_F1 or s["op"] != F1_STEP]


def steps_of(plan) -> list[tuple[str, dict, dict]]:
    return [(s.op.op_name(), s.op.params, {k: v for k, v in s.bindings.items() if v is not None})
            for s in plan.steps]


def test_yaml_and_python_pipelines_compile_to_the_same_steps(tmp_path, monkeypatch):
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert (SPEC_PATH.parent / spec["input"]).resolve() == PASSAGES.resolve()
    assert spec["resources"]["retriever"]["corpus"] == spec["input"]
    spec["steps"] = spec_steps(spec)
    assert [(s["op"], s.get("params", {}), s.get("run", {})) for s in spec["steps"]] == rag_qa.rag_qa_steps()
    monkeypatch.chdir(SPEC_PATH.parent)  # the corpus path is read from the working directory
    yaml_plan = Pipeline.from_spec({**spec, "input": str(PASSAGES)}).compile()
    python_plan = AgenticRAGQAPipeline(PASSAGES, tmp_path / "out.jsonl").compile()
    assert not yaml_plan.errors and not yaml_plan.warnings
    assert steps_of(yaml_plan) == steps_of(python_plan)
    assert [s.fingerprint for s in yaml_plan.steps] == [s.fingerprint for s in python_plan.steps]


class ScriptedWorld:
    """A deterministic stand-in for the model over the example passages: it writes one or two tasks per
    passage, knows one answer by heart, fails one question even with its documents, and answers the
    other questions from the documents when they hold the answer."""

    TASKS = {
        "Arctic Monkeys": [("formed in Sheffield in 2002", "In which city were Arctic Monkeys formed?", "Sheffield"),
                           ("its singer is Alex Turner", "Who is the singer of Arctic Monkeys?", "Alex Turner")],
        "AM (album)": [("produced by James Ford", "Who produced the album AM?", "James Ford")],
        "Pulp (band)": [("formed by Jarvis Cocker", "Who formed Pulp?", "Jarvis Cocker")],
        "Sheffield": [("known for steel", "For the production of what did Sheffield become known?", "steel")],
        "Marie Curie": [("born in Warsaw in 1867", "In which city was Marie Curie born?", "Warsaw")],
        "Polonium": [("atomic number 84", "What is the atomic number of polonium?", "84")],
        "Warsaw": [("capital of Poland", "Of which country is Warsaw the capital?", "Poland")],
        "Vistula": [("empties into the Baltic Sea", "Into which sea does the Vistula empty?", "the Baltic Sea")],
    }
    KNOWN = {"Of which country is Warsaw the capital?": "Poland"}
    ENTITIES = ("Arctic Monkeys", "Marie Curie", "Pulp", "Sheffield", "Vistula", "Warsaw", "polonium")

    def __init__(self) -> None:
        self.answer_of = {q: a for tasks in self.TASKS.values() for _, q, a in tasks}
        self.cannot = {"What is the atomic number of polonium?"}  # even with the documents
        self.deeper: dict[str, str] = {}  # new question -> source question

    def __call__(self, call) -> str:
        text = user_text(call)
        field = lambda name: re.search(rf"{name}: (.*)\n", text).group(1)  # noqa: E731
        if text.startswith("Read the passage"):
            title = re.search(r'Passage:\n"(.*)"', text).group(1)
            return as_json(identifier=title, tasks=[{"fact": f, "question": q, "answer": a} for f, q, a in self.TASKS[title]])
        if text.startswith("A question, the fact"):
            return as_json(refined_answer=field("Answer"), alternatives=[])
        if text.startswith("Which named entity"):
            question = field("Question")
            return as_json(entity=next((e for e in self.ENTITIES if e in question), "nothing"))
        if text.startswith("Make the question harder"):
            entity, question = re.search(r'replace "(.*?)"', text).group(1), field("Question")
            bridge = text.split(f'Passage about "{entity}":\n', 1)[1].split("\n", 1)[1]  # after the title line
            sentence = next(s for s in re.split(r"(?<=\.)\s+", bridge) if entity in s)
            description = "what 'it' is in: " + sentence.replace(entity, "it").replace('"', "")
            new = question.replace(entity, description)
            self.deeper[new] = question
            if question == "Into which sea does the Vistula empty?":
                self.cannot.add(new)  # the model fails this deeper question with its documents
            return as_json(description=description, question=new)
        if text.startswith("Combine"):
            (one, two), (a1, a2) = re.findall(r"Question \d: (.*)\n", text), re.findall(r"Answer \d: (.*)\n", text)
            combined = f"{one[:-1]}, and {two[0].lower()}{two[1:]}"
            self.answer_of[combined] = f"{a1}; {a2}"
            return as_json(question=combined, answer=f"{a1}; {a2}")
        if text.startswith("This question asks for two"):
            one, two = field("Question").split(", and ")
            return as_json(questions=[one + "?", two[0].upper() + two[1:]])
        question = field("Question")
        if text.startswith("Answer the question from your own knowledge"):
            return as_json(answer=self.KNOWN.get(question, "unknown"))
        answer = self.answer_of.get(question) or self.answer_of[self.deeper[question]]
        parts = answer.split("; ")
        found = question not in self.cannot and all(p.lower() in text.lower() for p in parts)
        return as_json(answer=answer if found else "unknown")


def test_scripted_run_verifies_every_question_it_keeps(tmp_path):
    world = ScriptedWorld()
    serving = ScriptedServing(world)
    out, cache = tmp_path / "rag_qa.jsonl", tmp_path / "cache"
    AgenticRAGQAPipeline(PASSAGES, out, serving=serving, cache_dir=cache).run()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    types = [r["qa_type"] for r in rows]
    assert {"atomic", "deeper", "wider"} <= set(types)
    for r in rows:  # every kept question passed both checks, on its own documents
        assert r["llm_answer_f1"] < 0.6 <= r["golden_doc_f1"], r
        assert r["golden_doc_f1"] == token_f1(r["golden_doc_answer"], [r["refined_answer"], *r["optional_answer"]])
        if HAS_F1:
            assert r["F1Score"] == pytest.approx(r["golden_doc_f1"])

    run = json.loads((cache / "run.json").read_text(encoding="utf-8"))
    steps = run["steps"]
    assert [s["op"] for s in steps][:5] == ["AgenticRAGAtomicTaskGenerator", "AgenticRAGDocumentDependenceFilter",
                                            "AgenticRAGDepthQAGenerator", "AgenticRAGWidthQAGenerator",
                                            "AgenticRAGDocumentDependenceFilter"]
    atomic, first, depth, width, second = steps[:5]
    assert (atomic["rows_in"], atomic["rows_out"]) == (8, 9)  # 8 passages -> 9 questions
    assert first["rows_in"] == 9 and first["rows_out"] == 7
    assert first["dropped"] == {'answerable without the documents: "Poland"': 1,
                                'not answered with the documents: "unknown"': 1}
    made_deeper, made_wider = depth["rows_out"] - depth["rows_in"], width["rows_out"] - width["rows_in"]
    assert made_deeper >= 3 and made_wider >= 2
    # the second check dropped exactly the deeper question the model fails on its documents
    assert second["rows_in"] == width["rows_out"] and second["rows_out"] == second["rows_in"] - 1
    assert second["dropped"] == {'not answered with the documents: "unknown"': 1}
    assert len(rows) == second["rows_out"] and types.count("atomic") == 7


def test_the_deeper_question_is_verified_on_its_bridge_and_wider_pairs_come_from_retrieval(tmp_path):
    world = ScriptedWorld()
    serving = ScriptedServing(world)
    out = tmp_path / "rag_qa.jsonl"
    AgenticRAGQAPipeline(PASSAGES, out, serving=serving, cache_dir=tmp_path / "cache").run()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    passages = {json.loads(line)["id"]: json.loads(line)["contents"] for line in PASSAGES.read_text().splitlines()}
    asked_with_documents = {re.search(r"Question: (.*)\n", user_text(c)).group(1): user_text(c)
                            for c in serving.calls if user_text(c).startswith("Answer the question using")}
    asked_closed = [re.search(r"Question: (.*)\n", user_text(c)).group(1) for c in serving.calls
                    if user_text(c).startswith("Answer the question from your own")]
    deeper = [r for r in rows if r["qa_type"] == "deeper"]
    assert deeper
    for r in deeper:
        assert r["question"] != r["source_question"] and r["entity"] not in r["question"]
        assert r["bridge_id"] != r["id"] and r["documents"] == [passages[r["bridge_id"]], passages[r["id"]]]
        # the NEW question was asked, with the bridge passage and its own passage, and without them
        prompt = asked_with_documents[r["question"]]
        assert f"Document 1:\n{passages[r['bridge_id']]}" in prompt and f"Document 2:\n{passages[r['id']]}" in prompt
        assert r["question"] in asked_closed
    # the deeper question of the Vistula's sea was made, verified and dropped, though its source passed
    source = "Into which sea does the Vistula empty?"
    made = [q for q, old in world.deeper.items() if old == source]
    assert made and made[0] in asked_with_documents and made[0] not in [r["question"] for r in rows]
    assert source in [r["question"] for r in rows]

    from dataflow.lib.retrieval.resource import create_retriever

    retriever = create_retriever({"corpus": str(PASSAGES)})
    wider = [r for r in rows if r["qa_type"] == "wider"]
    assert wider
    for r in wider:
        one, two = r["source_ids"]
        ranked = [[h.id for h in hits] for hits in retriever.search([passages[one], passages[two]], 10,
                                                                      exclude=[[one], [two]])]
        assert two in ranked[0] or one in ranked[1]  # related by retrieval
        assert r["documents"] == [passages[one], passages[two]]
    pairs = {tuple(r["source_ids"]) for r in wider}
    assert ("p5", "p6") not in pairs  # polonium's question was dropped by the first check: nothing to pair
    assert ("p1", "p2") in pairs  # the band and its album retrieve each other, not neighbours by chance


@pytest.mark.slow
@pytest.mark.llm
def test_thirty_hotpotqa_paragraphs_with_the_embedded_model(tmp_path):
    """Done-when: the pipeline spec over 30 HotpotQA paragraphs with the embedded model completes; every
    kept question passed both checks; run.json counts made / kept / dropped per step, with reasons.
    Kept small for a CPU: one question per passage, short answers; the corpus is the 10 paragraphs of
    each of 3 questions (so bridges and pairs exist)."""
    if not HOTPOT.is_file():
        pytest.skip("needs ../shared/fixtures (rag/hotpotqa_rpt)")
    records = [json.loads(line) for line in HOTPOT.read_text(encoding="utf-8").splitlines()[:3]]
    passages = tmp_path / "passages.jsonl"
    with passages.open("w", encoding="utf-8") as f:
        for k, rec in enumerate(records):
            for title, sentences in zip(rec["context"]["title"], rec["context"]["sentences"]):
                f.write(json.dumps({"id": f"q{k}-{title}", "contents": f'"{title}"\n{"".join(sentences).strip()}'}) + "\n")
    assert sum(1 for _ in passages.open()) == 30
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    spec.update(input=str(passages), output=str(tmp_path / "out.jsonl"), cache_dir=str(tmp_path / "cache"),
                resources={"retriever": {"corpus": str(passages)}})
    spec["steps"] = spec_steps(spec)
    budget = {"AgenticRAGAtomicTaskGenerator": {"num_q": 1, "max_alternatives": 2, "max_tokens": 200},
              "AgenticRAGDocumentDependenceFilter": {"max_document_chars": 1000},
              "AgenticRAGDepthQAGenerator": {"max_tokens": 160, "max_passage_chars": 1000},
              "AgenticRAGWidthQAGenerator": {"max_tokens": 160}}
    for step in spec["steps"]:  # short answers, one question per passage: a few hundred short calls in all
        step["params"] = {**step.get("params", {}), **budget.get(step["op"], {})}
    result = Pipeline.from_spec(spec).run()
    run = json.loads((tmp_path / "cache" / "run.json").read_text(encoding="utf-8"))
    print([(s["op"], s["rows_in"], s["rows_out"], s["dropped"], s["rejected"]) for s in run["steps"]])
    assert run["status"] == "completed", result
    checks = [s for s in run["steps"] if s["op"] == "AgenticRAGDocumentDependenceFilter"]
    assert len(checks) == 2 and all("rows_in" in s and "rows_out" in s for s in checks)
    assert checks[0]["rows_in"] > 0, "the atomic step made no question"
    for s in checks:  # made = rows_in, kept = rows_out, dropped by reason
        assert s["rows_in"] - s["rows_out"] - s["rejected"] == sum(s["dropped"].values())
        assert all(r.startswith(("answerable without the documents: ", "not answered with the documents: ",
                                 "no question")) for r in s["dropped"])
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:
        assert r["llm_answer_f1"] < 0.6 <= r["golden_doc_f1"], r
    print(json.dumps([{k: r[k] for k in ("qa_type", "question", "refined_answer", "golden_doc_answer")} for r in rows],
                     indent=1))
