"""The knowledge-base QA pipeline: wiring (YAML == Python), a run with a scripted serving, and the
acceptance run on the open_dataflow PDFs with the embedded model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from dataflow.core.operator import Filter, InputColumn
from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import register_operator
from dataflow.core.run_inspector import RunInspector
from dataflow.pipelines.knowledge.kb_qa import KB_QA_STEPS, KBQAPipeline
from tests.operators.reasoning.scripted_serving import ScriptedServing, as_json, user_text
from tests.shared_fixtures import FIXTURES

HERE = Path(__file__).resolve()
PIPELINES = HERE.parents[3] / "dataflow" / "pipelines" / "knowledge"
DOCUMENTS = PIPELINES / "examples" / "documents.jsonl"
PDFS = FIXTURES / "docs/open_dataflow/KBCleaningPipeline"


def steps_of(plan) -> list[tuple[str, dict, dict]]:
    return [(s.op.op_name(), s.op.params, {k: v for k, v in s.bindings.items() if v is not None})
            for s in plan.steps]


def test_yaml_and_python_pipelines_compile_to_the_same_steps(tmp_path):
    spec_path = PIPELINES / "kb_qa.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    assert (spec_path.parent / spec["input"]).resolve() == DOCUMENTS.resolve()
    assert [(s["op"], s.get("params", {}), s.get("run", {})) for s in spec["steps"]] == list(KB_QA_STEPS)
    yaml_plan = Pipeline.from_spec(spec_path).compile()
    python_plan = KBQAPipeline(DOCUMENTS, tmp_path / "out.jsonl").compile()
    assert not yaml_plan.errors and not yaml_plan.warnings
    assert steps_of(yaml_plan) == steps_of(python_plan)


def test_python_pipeline_options_change_the_steps(tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"path": "a.pdf"}) + "\n", encoding="utf-8")
    plan = KBQAPipeline(docs, tmp_path / "o.jsonl", source_key="path", chunk_size=200, tokenizer="chars",
                        num_q=2, llm_clean=True, llm_judge=True, sft_format="sharegpt").compile()
    names = [s.op.op_name() for s in plan.steps]
    assert names[3] == "KBCTextCleaner" and len(names) == len(KB_QA_STEPS) + 1
    assert plan.steps[0].bindings["input_key"] == "path" and plan.steps[2].bindings["input_doc_key"] == "path"
    assert plan.steps[1].op.chunk_size == 200 and plan.steps[4].op.num_q == 2
    assert plan.steps[5].op.llm_judge and plan.steps[6].op.format == "sharegpt"


def _answer_from_chunk(call):
    """Two pairs per chunk: one copied from the chunk's first sentence (supported), one made up."""
    passage = user_text(call).split("Passage:\n", 1)[1]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage) if len(s.split()) >= 5]
    first = next((s for s in sentences if not s.startswith("#")), sentences[0]).lstrip("# ")
    return as_json(qa_pairs=[
        {"question": f"What is said about {' '.join(first.split()[:4])}?", "answer": first, "supporting_facts": [first],
         "type": "single_hop"},
        {"question": "Who invented the framework?", "answer": "Ada Lovelace invented it in 1843.",
         "supporting_facts": ["Ada Lovelace invented the framework in 1843."], "type": "multi_hop"}])


def test_pipeline_runs_documents_to_sft_records_with_reasons(tmp_path):
    docs = tmp_path / "docs.jsonl"
    rows = [{"source": str(PIPELINES / "examples" / "dataflow_notes.txt")}, {"source": str(tmp_path / "missing.pdf")}]
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "sft.jsonl"
    pipeline = KBQAPipeline(docs, out, chunk_size=400, tokenizer="chars", serving=ScriptedServing(_answer_from_chunk),
                            cache_dir=tmp_path / "cache")
    pipeline.run()
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records and all(r["instruction"].startswith("What is said about") for r in records)
    assert all(r["output"] in r["cleaned_chunk"] and r["input"] == "" for r in records)
    run = RunInspector(tmp_path / "cache")
    drops = [(d["op"], d["reason"]) for d in run.dropped()]
    assert drops and all(op == "KBCQASupportFilter" and reason.startswith("answer not in chunk")
                         for op, reason in drops)  # every made-up pair, with its reason
    assert len(drops) == len(records)
    assert [r["reason"].split(": ", 1)[1] for r in run.rejects()] == [f"no such file: {tmp_path / 'missing.pdf'}"]


def test_the_pipeline_needs_no_network(tmp_path, monkeypatch):
    """Documents to SFT records with every internet socket refused: the converters, the chunker's tokenizer
    (the embedded model's, read from the packaged file) and the rest read nothing from the network."""
    import socket

    def refuse(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"network disabled in this test: {address}")
        return real_connect(self, address, *args)

    def no_lookup(*args, **kwargs):
        raise OSError("network disabled in this test: name lookup")

    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    with pytest.raises(OSError, match="network disabled"):
        socket.create_connection(("93.184.215.14", 80), timeout=1)
    sources = [PIPELINES / "examples" / "dataflow_notes.txt", *sorted(PDFS.glob("bitter_lesson.pdf")),
               *sorted((FIXTURES / "docs" / "docling" / "html").glob("*.html"))[:1]]
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"source": str(p)}) + "\n" for p in sources), encoding="utf-8")
    out = tmp_path / "sft.jsonl"
    KBQAPipeline(docs, out, serving=ScriptedServing(_answer_from_chunk), cache_dir=tmp_path / "cache").run()
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {Path(r["source"]).name for r in records} == {p.name for p in sources}
    assert not list(RunInspector(tmp_path / "cache").rejects())


@register_operator
class FirstChunksOnly(Filter):
    """Test helper: keeps the chunks whose ``chunk_index`` is below ``count`` (to bound the LLM calls)."""

    input_key = InputColumn("chunk_index", "int")

    def __init__(self, count: int = 1) -> None:
        super().__init__()
        self.count = count

    def keep(self, batch, scores, ctx):
        return batch[ctx.cols.input_key] < self.count, "not among the first chunks"


@pytest.mark.slow
@pytest.mark.llm
def test_open_dataflow_pdfs_become_supported_qa_pairs_with_the_embedded_model(tmp_path):
    """Done-when: both PDFs through the pipeline spec with the embedded model; every kept pair passed the
    support check; rejects and drops carry reasons. Kept small: few chunks, short answers."""
    if not PDFS.is_dir():
        pytest.skip("needs ../shared/fixtures")
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"source": str(p)}) + "\n" for p in sorted(PDFS.glob("*.pdf"))),
                    encoding="utf-8")
    spec = yaml.safe_load((PIPELINES / "kb_qa.yaml").read_text(encoding="utf-8"))
    spec.update(input=str(docs), output=str(tmp_path / "sft.jsonl"), cache_dir=str(tmp_path / "cache"))
    for step in spec["steps"]:
        if step["op"] == "KBCChunkGenerator":  # large chunks: few of them, so few LLM calls
            step["params"].update(chunk_size=800)
        if step["op"] == "KBCMultiHopQAGenerator":
            step["params"].update(num_q=2, max_tokens=700, max_answer_chars=200, max_facts=2)
    spec["steps"].insert(2, {"op": "FirstChunksOnly", "params": {"count": 1}})  # one chunk per PDF
    result = Pipeline.from_spec(spec).run()
    records = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records, f"no QA pair kept: {result}"
    from dataflow.operators.knowledge.qa_support_filter import KBCQASupportFilter

    check = KBCQASupportFilter()
    for r in records:
        assert r["instruction"] and r["output"] and r["source"].endswith(".pdf")
        assert check.check(r["cleaned_chunk"], r["answer"], r["supporting_facts"], r["question"])[1] is None
    run = RunInspector(tmp_path / "cache")
    assert all(d["reason"] for d in run.dropped()) and all(r["reason"] for r in run.rejects())
    print(json.dumps([{k: r[k] for k in ("instruction", "output", "qa_type")} for r in records], indent=1))
    print([(d["op"], d["reason"]) for d in run.dropped() if d["op"] != "FirstChunksOnly"],
          [r["reason"] for r in run.rejects()])
