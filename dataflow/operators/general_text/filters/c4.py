"""The C4 cleaning rules (Raffel et al., 2020; the TensorFlow Datasets ``c4_utils`` implementation).

Line rules (applied by :class:`~dataflow.operators.general_text.refiners.c4_lines.C4LineCleanerRefiner`
and, implicitly, by :class:`C4QualityFilter` when it counts sentences):

* citation markers ``[1]``, ``[edit]``, ``[citation needed]`` are removed first;
* a line is dropped if it does not end in terminal punctuation (``. ! ? "`` and typographic quotes),
  has fewer than ``min_words_per_line`` words (5), contains a word longer than ``max_word_length``
  characters (1000), mentions "javascript", or contains a policy/cookie phrase ("terms of use",
  "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies");

Document rules (:class:`C4QualityFilter`): drop pages containing "lorem ipsum", a curly bracket ``{``,
or fewer than ``min_sentences`` (3) sentences left after the line rules.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import TextStats
from dataflow.operators.general_text.filters._base import RuleSetFilter

C4_TERMINAL_PUNCTUATION = (".", "!", "?", '"', "\u201d", "\u3002", "\uff01", "\uff1f")
C4_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f]+(?=[\s\"'\u201d)]|$)")


def c4_clean_lines(text: str, *, min_words_per_line: int = 5, max_word_length: int = 1000,
                   remove_citations: bool = True, filter_no_terminal_punct: bool = True,
                   filter_javascript: bool = True, filter_policy: bool = True) -> list[str]:
    """The lines of ``text`` that survive C4's line rules (stripped)."""
    if remove_citations:
        text = _CITATION.sub("", text)
    kept = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if filter_no_terminal_punct and not line.endswith(C4_TERMINAL_PUNCTUATION):
            continue
        words = line.split()
        if len(words) < min_words_per_line or max(map(len, words)) > max_word_length:
            continue
        lower = line.lower()
        if filter_javascript and "javascript" in lower:
            continue
        if filter_policy and any(p in lower for p in C4_POLICY_PHRASES):
            continue
        kept.append(line)
    return kept


def count_sentences(lines: list[str]) -> int:
    """Sentences in kept lines: runs of ``.!?`` (and CJK forms) followed by space, quote or line end."""
    return sum(max(1, len(_SENTENCE_END.findall(line))) for line in lines)


@register_operator
class C4QualityFilter(RuleSetFilter):
    """C4's page rules: drop pages with "lorem ipsum", a curly bracket, or too few sentences in the lines
    that survive C4's line rules (see the module documentation for the exact rules).

    Rules and defaults: ``lorem_ipsum`` count <= 0 (``filter_lorem_ipsum``), ``curly_bracket`` count <= 0
    (``filter_curly_bracket``), ``c4_sentences`` >= ``min_sentences`` (3). The text is not modified: run
    ``C4LineCleanerRefiner`` to remove the bad lines. Score column ``c4_quality_failures``.
    """

    output_key = OutputColumn("c4_quality_failures", "int")
    rule_set_name = "c4_quality"

    def __init__(self, min_sentences: int | None = 3, min_words_per_line: int = 5, max_word_length: int = 1000,
                 filter_lorem_ipsum: bool = True, filter_curly_bracket: bool = True,
                 filter_javascript: bool = True, filter_policy: bool = True):
        super().__init__()
        self.min_sentences = min_sentences
        self.line_options = {"min_words_per_line": min_words_per_line, "max_word_length": max_word_length,
                             "filter_javascript": filter_javascript, "filter_policy": filter_policy}
        self._rules = {"lorem_ipsum": (None, 0 if filter_lorem_ipsum else None),
                       "curly_bracket": (None, 0 if filter_curly_bracket else None),
                       "c4_sentences": (min_sentences, None)}

    def rules(self) -> dict[str, tuple[float | None, float | None]]:
        return self._rules

    def values(self, stats: TextStats) -> dict[str, np.ndarray]:
        texts = stats.texts
        sentences = np.zeros(len(texts))
        if self.min_sentences is not None:
            for i, text in enumerate(texts):
                if text:
                    sentences[i] = count_sentences(c4_clean_lines(text, **self.line_options))
        lorem = np.fromiter(("lorem ipsum" in t.lower() for t in texts), dtype=np.float64, count=len(texts))
        curly = np.fromiter(("{" in t for t in texts), dtype=np.float64, count=len(texts))
        return {"lorem_ipsum": lorem, "curly_bracket": curly, "c4_sentences": sentences}

    def failures(self, batch: pd.DataFrame, ctx: Any) -> list[list[str]]:
        # score() and keep() both ask; the line cleaning is the costly part, so memoise the result.
        key = f"c4_quality_failures:{sorted(self.line_options.items())}:{self._rules}"
        return ctx.memo.get(ctx.cols.input_key, key, lambda: _Failures(super(C4QualityFilter, self)
                                                                        .failures(batch, ctx))).items


class _Failures:
    """A per-row list kept aligned by the chunk memo."""

    def __init__(self, items: list[list[str]]) -> None:
        self.items = items

    def filter_rows(self, mask: np.ndarray) -> _Failures:
        return _Failures([f for f, m in zip(self.items, np.asarray(mask, dtype=bool).tolist()) if m])
