"""Near-duplicate code files by MinHash over code tokens (comments and layout ignored)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dataflow.core.operator import InputColumn, OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.code_tokens import CommentStyle, code_tokens
from dataflow.lib.dedup.minhash import minhash_signatures
from dataflow.operators.general_text.dedup._base import Mode
from dataflow.operators.general_text.dedup.minhash import MinHashDeduplicateFilter


@register_operator
class CodeMinHashDeduplicateFilter(MinHashDeduplicateFilter):
    """Drop near-duplicate code: MinHash + LSH over ``ngram``-grams of code tokens, across the dataset.

    Each file becomes its token sequence (:func:`dataflow.lib.code_tokens.code_tokens`: identifiers,
    keywords, numbers, string literals and operators; comments and whitespace dropped), so copies that
    differ only in comments, indentation, blank lines or line breaks are equal, and a renamed variable
    or an edited line changes only the n-grams around it. ``comments`` is the comment syntax to strip
    (``"auto"``: ``#``, ``//`` and ``/* */``; ``"hash"``; ``"c"``; see :mod:`dataflow.lib.code_tokens`).
    Tokens are compared as written (case-sensitive). Clustering is :class:`MinHashDeduplicateFilter`'s:
    rows whose estimated Jaccard similarity of token n-gram sets reaches ``threshold`` (with the same
    recall-tuned banding and verification) are linked, and the first row of each cluster, in input
    order, is kept (``mode="drop_all"`` drops whole clusters). A barrier: it sees the whole dataset.
    ``output_key`` (``code_minhash_cluster``) gets the row id of each row's representative; the drop
    reason is ``code minhash duplicate (jaccard >= 0.8)``. The default 5-grams of tokens are about one
    statement long.
    """

    input_key = InputColumn("code", "str", nullable=True)
    output_key = OutputColumn("code_minhash_cluster", "str",
                              description="row id of the kept representative of the row's cluster")

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, ngram: int = 5,
                 comments: CommentStyle = "auto", bands: int | None = None, rows: int | None = None,
                 seed: int = 42, verify: bool = True, verify_threshold: float | None = None,
                 mode: Mode = "keep_one") -> None:
        super().__init__(threshold=threshold, num_perm=num_perm, ngram=ngram, tokenize="word", bands=bands,
                         rows=rows, seed=seed, verify=verify, verify_threshold=verify_threshold, mode=mode)
        code_tokens("", comments)  # an unknown style fails here, at construction
        self.comments = comments

    @property
    def drop_reason(self) -> str:
        return f"code minhash duplicate (jaccard >= {self.threshold:g})"

    def signatures(self, texts: list[str], ctx: Any) -> np.ndarray:
        # Only string literals hold whitespace; it becomes NUL so that the word shingler sees one token
        # per word (str.isspace() is False for NUL, True for the ASCII separators \x1c-\x1f).
        token_texts = [" ".join("\0".join(t.split()) for t in code_tokens(text, self.comments))
                       for text in texts]
        return minhash_signatures(token_texts, num_perm=self.num_perm, ngram=self.ngram, seed=self.seed,
                                  tokenize="word", normalize=False)
