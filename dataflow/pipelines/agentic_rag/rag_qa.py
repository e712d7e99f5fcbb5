"""Agentic RAG questions from a passage corpus: passages -> atomic QA -> document dependence check ->
deeper and wider questions -> dependence check of the new questions -> F1 -> the output file.

The same steps as ``rag_qa.yaml`` (kept in sync by a test)::

    from dataflow.pipelines.agentic_rag.rag_qa import AgenticRAGQAPipeline
    AgenticRAGQAPipeline("passages.jsonl", "rag_qa.jsonl").run()

Input rows are passages, ``{"id": ..., "contents": "\\"Title\\"\\npassage"}`` (the reference's format);
the same file is the corpus of the ``retriever`` resource (BM25, built once per run), unless
``corpus`` names a larger one. :class:`AgenticRAGAtomicTaskGenerator` writes up to ``num_q`` questions
per passage (``question``, ``answer``, ``refined_answer``, ``optional_answer``, ``qa_type`` atomic);
:class:`AgenticRAGDocumentDependenceFilter` keeps those the model answers with the passage and not
without it. :class:`AgenticRAGDepthQAGenerator` adds, after each atomic question, one that goes through
a bridging passage retrieved from the corpus (``qa_type`` deeper, ``documents`` [bridge, passage]);
:class:`AgenticRAGWidthQAGenerator` adds questions combining two atomic ones whose passages retrieve
each other (``qa_type`` wider, ``documents`` both passages). The second dependence check runs on
``documents``: it verifies the NEW questions on their own documents, and every other row that goes out
(the atomic questions again, with the same requests as before, so a serving with its response cache
answers them from it). :class:`AgenticRAGQAF1SampleEvaluator` writes ``F1Score``: the answer given
with the documents against the reference answers. Each check's drops carry their reasons
(``answerable without the documents: "..."``), and ``run.json`` counts rows in and out per step.

Width pairs the questions of one chunk: ``chunk_size`` (passages per chunk, 1000 here) bounds which
passages can be paired.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

SPEC_PATH = Path(__file__).with_name("rag_qa.yaml")
Step = tuple[str, dict[str, Any], dict[str, Any]]
#: Passages per chunk: the wider step pairs questions within a chunk.
CHUNK_SIZE = 1000


#: What the second dependence check writes again, bound explicitly: it replaces the first check's columns.
CHECK_OUTPUTS = {"output_closed_answer_key": "llm_answer", "output_closed_f1_key": "llm_answer_f1",
                 "output_doc_answer_key": "golden_doc_answer", "output_doc_f1_key": "golden_doc_f1"}


def dependence_check(documents: str, min_f1: float = 0.6, outputs: dict[str, str] | None = None) -> Step:
    """The dependence filter on the ``documents`` column (the passage, or a row's list of passages)."""
    return ("AgenticRAGDocumentDependenceFilter", {"min_f1": min_f1},
            {"input_question_key": "question", "input_documents_key": documents,
             "input_answer_key": "refined_answer", "input_alternatives_key": "optional_answer", **(outputs or {})})


def rag_qa_steps(*, num_q: int = 2, min_f1: float = 0.6, depth_top_k: int = 5, width_top_k: int = 10) -> list[Step]:
    """The steps of :class:`AgenticRAGQAPipeline` (see the module docstring)."""
    return [
        ("AgenticRAGAtomicTaskGenerator", {"num_q": num_q}, {"input_key": "contents"}),
        dependence_check("contents", min_f1),
        # New questions are new rows: the question, answer and type columns are rewritten on purpose.
        ("AgenticRAGDepthQAGenerator", {"top_k": depth_top_k},
         {"input_question_key": "question", "input_key": "contents", "input_type_key": "qa_type",
          "output_question_key": "question", "output_type_key": "qa_type"}),
        ("AgenticRAGWidthQAGenerator", {"top_k": width_top_k},
         {"input_question_key": "question", "input_key": "contents", "input_type_key": "qa_type",
          "output_question_key": "question", "output_answer_key": "answer", "output_refined_answer_key": "refined_answer",
          "output_optional_answer_key": "optional_answer", "output_documents_key": "documents",
          "output_type_key": "qa_type"}),
        dependence_check("documents", min_f1, CHECK_OUTPUTS),
        ("AgenticRAGQAF1SampleEvaluator", {},
         {"input_prediction_key": "golden_doc_answer", "input_ground_truth_key": "optional_answer",
          "output_key": "F1Score"}),
    ]


class AgenticRAGQAPipeline(Pipeline):
    """Passages to verified atomic, deeper and wider questions (see the module docstring).

    ``corpus`` is the passage file searched for bridges and pairs (default: the input), read with
    ``id_key`` and ``text_key``; ``num_q`` atomic questions are asked per passage; ``min_f1`` is the token
    F1 an answer needs to count as correct in both checks; ``depth_top_k`` / ``width_top_k`` are how many
    passages the deeper and wider steps retrieve. Other keyword arguments go to
    :class:`~dataflow.core.pipeline.Pipeline` (``serving``, ``cache_dir``, ``chunk_size``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 corpus: str | Path | None = None, id_key: str = "id", text_key: str = "contents",
                 num_q: int = 2, min_f1: float = 0.6, depth_top_k: int = 5, width_top_k: int = 10,
                 **kwargs: Any) -> None:
        resources = dict(kwargs.pop("resources", None) or {})
        source = corpus if corpus is not None else input
        if source is not None:
            resources.setdefault("retriever", {"corpus": str(source), "id_key": id_key, "text_key": text_key})
        kwargs.setdefault("chunk_size", CHUNK_SIZE)
        super().__init__(input, output, resources=resources, **kwargs)
        self.steps = [(OPERATORS.get(name)(**params), bindings) for name, params, bindings in rag_qa_steps(
            num_q=num_q, min_f1=min_f1, depth_top_k=depth_top_k, width_top_k=width_top_k)]

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
