"""Pre-training text filtering: clean, apply the rule-based quality filters, then MinHash dedup.

The same steps as ``pretrain_filter.yaml`` (kept in sync by a test)::

    from dataflow.pipelines.general_text.pretrain_filter import PretrainFilterPipeline
    PretrainFilterPipeline("web.jsonl", "clean.jsonl", input_key="raw_content").run()

Order: empty rows go first, then three refiners (so the filters judge the cleaned text), then the
cheap length and shape filters, then the pattern and vocabulary filters, and MinHash dedup last: it is
a barrier over the whole dataset, so it only has to sign and cluster the documents that survived.
All filters read their word/line/sentence statistics from the shared chunk memo, so those are
computed once per document, not once per filter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

#: (operator name, params) in execution order; ``pretrain_filter.yaml`` lists the same steps.
PRETRAIN_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("ContentNullFilter", {}),
    ("HtmlUrlRemoverRefiner", {}),
    ("RemoveEmojiRefiner", {}),
    ("RemoveExtraSpacesRefiner", {}),
    ("CharNumberFilter", {"threshold": 100}),
    ("WordNumberFilter", {"min_words": 20, "max_words": 100000}),
    ("SentenceNumberFilter", {"min_sentences": 3, "max_sentences": 7500}),
    ("MeanWordLengthFilter", {"min_length": 3, "max_length": 10}),
    ("ColonEndFilter", {}),
    ("LineEndWithEllipsisFilter", {"threshold": 0.3}),
    ("LineStartWithBulletpointFilter", {"threshold": 0.9}),
    ("LineWithJavascriptFilter", {"threshold": 3}),
    ("SymbolWordRatioFilter", {"threshold": 0.4}),
    ("CurlyBracketFilter", {"threshold": 0.025}),
    ("CapitalWordsFilter", {"threshold": 0.2}),
    ("UniqueWordsFilter", {"threshold": 0.1}),
    ("NoPuncFilter", {"threshold": 112}),
    ("HtmlEntityFilter", {}),
    ("SpecialCharacterFilter", {}),
    ("WatermarkFilter", {}),
    ("LoremIpsumFilter", {}),
    ("BlocklistFilter", {"language": "en", "threshold": 1}),
    ("MinHashDeduplicateFilter", {"threshold": 0.8, "num_perm": 128, "ngram": 5, "tokenize": "word"}),
]


class PretrainFilterPipeline(Pipeline):
    """Rule-based filtering and near-duplicate removal of a pre-training text corpus.

    ``input_key`` is the text column (``text`` for most corpora, ``raw_content`` for RedPajama-style
    dumps); it is refined in place. ``dedup_threshold`` / ``dedup_tokenize`` tune the final
    :class:`MinHashDeduplicateFilter`. The pipeline uses word 5-gram shingles (the operator's own
    default is character 5-grams): for web text, where copies differ by whole inserted or removed
    passages rather than typos, word shingles are the usual choice, and they cost about half the CPU
    (on the 62 MB benchmark corpus 1.2 CPU-seconds instead of 2.3 with the compiled kernels). Pass ``dedup_tokenize="char"`` to catch typo-level edits.
    Other keyword arguments go to :class:`~dataflow.core.pipeline.Pipeline` (``cache_dir``,
    ``chunk_size``, ``workers``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 input_key: str = "text", dedup_threshold: float = 0.8, dedup_tokenize: str = "word",
                 **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        self.input_key = input_key
        self.ops = []
        for name, params in PRETRAIN_STEPS:
            if name == "MinHashDeduplicateFilter":
                params = {**params, "threshold": dedup_threshold, "tokenize": dedup_tokenize}
            self.ops.append(OPERATORS.get(name)(**params))

    def forward(self) -> None:
        for op in self.ops:
            op.run(self.storage, input_key=self.input_key)
