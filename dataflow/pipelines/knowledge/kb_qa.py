"""Knowledge base to QA training data: document paths -> Markdown -> chunks -> clean text -> QA pairs
-> support check -> SFT records.

The same steps as ``kb_qa.yaml`` (kept in sync by a test)::

    from dataflow.pipelines.knowledge.kb_qa import KBQAPipeline
    KBQAPipeline("documents.jsonl", "sft.jsonl").run()

Each input row names a document in ``source`` (a PDF, HTML, DOCX, Markdown or text path, or a URL).
:class:`FileOrURLToMarkdownConverter` reads it into ``markdown`` (with page markers; an unreadable
document goes to the rejects file with why); :class:`KBCChunkGenerator` cuts it into chunks that replace
the document's row (``markdown`` then holds the chunk, beside ``heading_path``, ``page_range`` and
``chunk_index``); :class:`KBCTextRuleCleaner` cleans each chunk into ``cleaned_chunk``, which
:class:`KBCTextCleaner` rewrites with the LLM when ``llm_clean`` is set (the YAML leaves that step out;
its comment shows it). :class:`KBCMultiHopQAGenerator` writes up to ``num_q`` single- and multi-hop pairs
per chunk, each a row (``question``, ``answer``, ``supporting_facts``, ``qa_type``);
:class:`KBCQASupportFilter` drops the pairs the chunk does not support, with the reason; and
:class:`QAExtractor` writes the SFT record in ``sft_format`` (``alpaca`` by default), so the output file
is the SFT file (it keeps the chunk, its source and pages for tracing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

#: (operator name, params, bindings) in execution order; ``kb_qa.yaml`` lists the same steps.
KB_QA_STEPS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("FileOrURLToMarkdownConverter", {"page_markers": True}, {"input_key": "source", "output_key": "markdown"}),
    ("KBCChunkGenerator", {"chunk_size": 512, "chunk_overlap": 50},
     {"input_key": "markdown", "output_key": "markdown"}),
    ("KBCTextRuleCleaner", {}, {"input_key": "markdown", "output_key": "cleaned_chunk", "input_doc_key": "source"}),
    ("KBCMultiHopQAGenerator", {"num_q": 3, "max_tokens": 1024}, {"input_key": "cleaned_chunk"}),
    ("KBCQASupportFilter", {"min_answer_overlap": 0.6, "min_evidence_overlap": 0.8},
     {"input_key": "cleaned_chunk"}),
    ("QAExtractor", {"format": "alpaca"}, {"input_question_key": "question", "input_answer_key": "answer"}),
]
#: The optional LLM cleaning step, run after the rule cleaner when ``llm_clean`` is set.
LLM_CLEAN_STEP: tuple[str, dict[str, Any], dict[str, Any]] = (
    "KBCTextCleaner", {}, {"input_key": "cleaned_chunk", "output_key": "cleaned_chunk"})


class KBQAPipeline(Pipeline):
    """Documents (a JSONL of paths in ``source_key``) to supported QA pairs as SFT records.

    ``chunk_size`` (tokens of ``tokenizer``, the embedded model's by default; ``"chars"`` for
    characters), ``num_q`` (pairs per chunk), ``llm_clean`` (add the LLM cleaner), ``llm_judge`` (the
    support check also asks the LLM), ``sft_format`` (``alpaca``, ``sharegpt`` or ``llamafactory``) and
    ``max_tokens`` (of the QA generator's answers) override the step defaults above. Other keyword
    arguments go to :class:`~dataflow.core.pipeline.Pipeline` (``serving``, ``cache_dir``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 source_key: str = "source", chunk_size: int | None = None, tokenizer: str | None = None,
                 num_q: int | None = None, max_tokens: int | None = None, llm_clean: bool = False,
                 llm_judge: bool = False, sft_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        changes: dict[str, dict[str, Any]] = {
            "KBCChunkGenerator": {"chunk_size": chunk_size, "tokenizer": tokenizer},
            "KBCMultiHopQAGenerator": {"num_q": num_q, "max_tokens": max_tokens},
            "KBCQASupportFilter": {"llm_judge": llm_judge or None}, "QAExtractor": {"format": sft_format}}
        steps = list(KB_QA_STEPS)
        if llm_clean:
            steps.insert(3, LLM_CLEAN_STEP)
        self.steps: list[tuple[Any, dict[str, Any]]] = []
        for name, params, bindings in steps:
            params = {**params, **{k: v for k, v in changes.get(name, {}).items() if v is not None}}
            run = {b: source_key if c == "source" else c for b, c in bindings.items()}
            self.steps.append((OPERATORS.get(name)(**params), run))

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
