"""The Gopher (MassiveText) quality and repetition rules (Rae et al., 2021, appendix A.1.1)."""

from __future__ import annotations

import numpy as np

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import DUP_NGRAMS, TOP_NGRAMS, TextStats
from dataflow.operators.general_text.filters._base import RuleSetFilter

# Gopher's thresholds for the repetition rules.
TOP_NGRAM_MAX = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAM_MAX = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


@register_operator
class GopherQualityFilter(RuleSetFilter):
    """Gopher's quality rules for English web text; a row is kept only if it passes all of them.

    * ``n_words`` in [min_words, max_words] (50 to 100,000);
    * ``mean_word_length`` in [min_mean_word_length, max_mean_word_length] (3 to 10 characters);
    * ``symbol_word_ratio`` (``#`` and ellipses per word) <= max_symbol_word_ratio (0.1);
    * ``bullet_line_ratio`` (lines starting with a bullet) <= max_bullet_lines_ratio (0.9);
    * ``ellipsis_line_ratio`` (lines ending with an ellipsis) <= max_ellipsis_lines_ratio (0.3);
    * ``alpha_word_ratio`` (words with a letter) >= min_alpha_word_ratio (0.8);
    * ``stopword_count`` (occurrences of the, be, to, of, and, that, have, with) >= min_stopwords (2).

    Set a bound to None to disable that rule. Score column ``gopher_quality_failures``: the number of
    failed rules; the drop reason lists them, e.g. ``gopher_quality: n_words < 50``.
    """

    output_key = OutputColumn("gopher_quality_failures", "int")
    rule_set_name = "gopher_quality"

    def __init__(self, min_words: int | None = 50, max_words: int | None = 100_000,
                 min_mean_word_length: float | None = 3, max_mean_word_length: float | None = 10,
                 max_symbol_word_ratio: float | None = 0.1, max_bullet_lines_ratio: float | None = 0.9,
                 max_ellipsis_lines_ratio: float | None = 0.3, min_alpha_word_ratio: float | None = 0.8,
                 min_stopwords: int | None = 2):
        super().__init__()
        self._rules = {
            "n_words": (min_words, max_words),
            "mean_word_length": (min_mean_word_length, max_mean_word_length),
            "symbol_word_ratio": (None, max_symbol_word_ratio),
            "bullet_line_ratio": (None, max_bullet_lines_ratio),
            "ellipsis_line_ratio": (None, max_ellipsis_lines_ratio),
            "alpha_word_ratio": (min_alpha_word_ratio, None),
            "stopword_count": (min_stopwords, None),
        }

    def rules(self) -> dict[str, tuple[float | None, float | None]]:
        return self._rules

    def values(self, stats: TextStats) -> dict[str, np.ndarray]:
        return {"n_words": stats["n_words"], "mean_word_length": stats.mean_word_length,
                "symbol_word_ratio": stats.symbol_word_ratio, "bullet_line_ratio": stats.bullet_line_ratio,
                "ellipsis_line_ratio": stats.ellipsis_line_ratio, "alpha_word_ratio": stats.alpha_word_ratio,
                "stopword_count": stats["n_gopher_stopwords"]}


@register_operator
class GopherRepetitionFilter(RuleSetFilter):
    """Gopher's repetition rules: drop documents that repeat lines, paragraphs or n-grams.

    * ``dup_line_frac`` (repeated lines / lines) <= 0.30 and ``dup_line_char_frac`` <= 0.20;
    * ``dup_para_frac`` (repeated paragraphs / paragraphs) <= 0.30 and ``dup_para_char_frac`` <= 0.20;
    * ``top_{n}gram_char_frac``, the characters of the most frequent repeated word n-gram times its count
      over all word characters: <= 0.20, 0.18, 0.16 for n = 2, 3, 4;
    * ``dup_{n}gram_char_frac``, the share of word characters inside any repeated n-gram:
      <= 0.15, 0.14, 0.13, 0.12, 0.11, 0.10 for n = 5..10.

    "Repeated" counts every occurrence after the first for lines and paragraphs, and all occurrences for
    n-grams (see ``text_stats``). Pass ``top_ngram_max`` / ``dup_ngram_max`` ({n: threshold}) to change
    the n-gram thresholds; None disables a rule. Score column ``gopher_repetition_failures``.
    """

    output_key = OutputColumn("gopher_repetition_failures", "int")
    rule_set_name = "gopher_repetition"

    def __init__(self, max_dup_line_frac: float | None = 0.30, max_dup_para_frac: float | None = 0.30,
                 max_dup_line_char_frac: float | None = 0.20, max_dup_para_char_frac: float | None = 0.20,
                 top_ngram_max: dict[int, float] | None = None, dup_ngram_max: dict[int, float] | None = None):
        super().__init__()
        top = dict(TOP_NGRAM_MAX if top_ngram_max is None else top_ngram_max)
        dup = dict(DUP_NGRAM_MAX if dup_ngram_max is None else dup_ngram_max)
        bad = sorted(set(top) - set(TOP_NGRAMS)) + sorted(set(dup) - set(DUP_NGRAMS))
        if bad:
            raise ValueError(f"GopherRepetitionFilter: unsupported n-gram sizes {bad}; top n-grams use "
                             f"{TOP_NGRAMS}, duplicated n-grams {DUP_NGRAMS}")
        self._rules = {
            "dup_line_frac": (None, max_dup_line_frac),
            "dup_para_frac": (None, max_dup_para_frac),
            "dup_line_char_frac": (None, max_dup_line_char_frac),
            "dup_para_char_frac": (None, max_dup_para_char_frac),
            **{f"top_{n}gram_char_frac": (None, v) for n, v in top.items()},
            **{f"dup_{n}gram_char_frac": (None, v) for n, v in dup.items()},
        }

    def rules(self) -> dict[str, tuple[float | None, float | None]]:
        return self._rules

    def values(self, stats: TextStats) -> dict[str, np.ndarray]:
        out = {"dup_line_frac": stats.dup_line_frac, "dup_para_frac": stats.dup_paragraph_frac,
               "dup_line_char_frac": stats.dup_line_char_frac,
               "dup_para_char_frac": stats.dup_paragraph_char_frac}
        for name, (_, high) in self._rules.items():
            if name.endswith("gram_char_frac") and high is not None:
                out[name] = stats[name]
        return out
