"""Single-statistic heuristic filters of the reference DataFlow library (same names and defaults).

Each filter reads one statistic of the shared :class:`~dataflow.lib.text_stats.TextStats`
(computed once per chunk for all filters on the same column), writes it to its score column and keeps
the rows whose value lies within the bounds, inclusive. Missing texts count as empty strings.
"""

from __future__ import annotations

import numpy as np

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import TextStats
from dataflow.operators.general_text.filters._base import StatRangeFilter


@register_operator
class WordNumberFilter(StatRangeFilter):
    """Keep texts with ``min_words`` to ``max_words`` words (whitespace tokens; CJK characters count one each).

    Score column ``word_count``. Reference defaults: 20 to 100,000.
    """

    output_key = OutputColumn("word_count", "int")
    score_name = "word_count"

    def __init__(self, min_words: int = 20, max_words: int = 100_000):
        super().__init__(min_value=min_words, max_value=max_words)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["n_words"].astype(np.int64)


@register_operator
class CharNumberFilter(StatRangeFilter):
    """Keep texts with at least ``threshold`` characters, not counting spaces, tabs and newlines.

    Score column ``char_count``. Reference default: 100. ``max_chars`` (default none) adds an upper bound.
    """

    output_key = OutputColumn("char_count", "int")
    score_name = "char_count"

    def __init__(self, threshold: int = 100, max_chars: int | None = None):
        super().__init__(min_value=threshold, max_value=max_chars)
        self.threshold = threshold

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["n_nonspace_chars"].astype(np.int64)


@register_operator
class SentenceNumberFilter(StatRangeFilter):
    """Keep texts with ``min_sentences`` to ``max_sentences`` sentences.

    A sentence is a run of characters other than ``.!?`` and newline starting at a word boundary, followed
    by optional ``.!?``. Score column ``sentence_count``. Reference defaults: 3 to 7,500.
    """

    output_key = OutputColumn("sentence_count", "int")
    score_name = "sentence_count"

    def __init__(self, min_sentences: int = 3, max_sentences: int = 7500):
        super().__init__(min_value=min_sentences, max_value=max_sentences)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["n_sentences"].astype(np.int64)


@register_operator
class MeanWordLengthFilter(StatRangeFilter):
    """Keep texts whose mean word length (characters per whitespace token) lies in [min_length, max_length].

    Texts without words score 0 and are dropped. Score column ``mean_word_length``. Reference defaults:
    3 to 10.
    """

    output_key = OutputColumn("mean_word_length", "number")
    score_name = "mean_word_length"

    def __init__(self, min_length: float = 3, max_length: float = 10):
        super().__init__(min_value=min_length, max_value=max_length)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.mean_word_length


@register_operator
class ContentNullFilter(StatRangeFilter):
    """Drop rows whose text is missing, empty or only whitespace.

    Score column ``nonspace_char_count`` (0 for dropped rows).
    """

    output_key = OutputColumn("nonspace_char_count", "int")
    score_name = "nonspace_char_count"

    def __init__(self):
        super().__init__(min_value=1)

    def statistic(self, stats: TextStats) -> np.ndarray:
        # Any non-whitespace character, including ones str.split() would not treat as space.
        return np.fromiter((len(t.strip()) for t in stats.texts), dtype=np.int64, count=len(stats))


@register_operator
class SymbolWordRatioFilter(StatRangeFilter):
    """Drop texts with too many symbols per word: (``#`` + ``...`` + ``…`` occurrences) / words > threshold.

    Texts with symbols but no words score infinity. Score column ``symbol_word_ratio``. Reference default
    threshold: 0.4 (Gopher uses 0.1).
    """

    output_key = OutputColumn("symbol_word_ratio", "number")
    score_name = "symbol_word_ratio"

    def __init__(self, threshold: float = 0.4):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.symbol_word_ratio


@register_operator
class CurlyBracketFilter(StatRangeFilter):
    """Drop texts where ``{`` and ``}`` make up more than ``threshold`` of all characters (code, templates).

    Score column ``curly_bracket_ratio``. Reference default: 0.025.
    """

    output_key = OutputColumn("curly_bracket_ratio", "number")
    score_name = "curly_bracket_ratio"

    def __init__(self, threshold: float = 0.025):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["curly_bracket_ratio"]


@register_operator
class CapitalWordsFilter(StatRangeFilter):
    """Drop texts where more than ``threshold`` of the words are all upper case (``str.isupper``).

    Score column ``capital_word_ratio``. Reference default: 0.2.
    """

    output_key = OutputColumn("capital_word_ratio", "number")
    score_name = "capital_word_ratio"

    def __init__(self, threshold: float = 0.2):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.capital_word_ratio


@register_operator
class UniqueWordsFilter(StatRangeFilter):
    """Drop repetitive texts: distinct lowercase words / words below ``threshold``.

    Texts without words score 0 and are dropped. Score column ``unique_word_ratio``. Reference default: 0.1.
    """

    output_key = OutputColumn("unique_word_ratio", "number")
    score_name = "unique_word_ratio"

    def __init__(self, threshold: float = 0.1):
        super().__init__(min_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.unique_word_ratio


@register_operator
class AlphaWordsFilter(StatRangeFilter):
    """Drop texts where fewer than ``threshold`` of the words contain a letter (tables of numbers, symbols).

    Score column ``alpha_word_ratio`` (1.0 for texts without words). Default 0.8, the Gopher rule.
    """

    output_key = OutputColumn("alpha_word_ratio", "number")
    score_name = "alpha_word_ratio"

    def __init__(self, threshold: float = 0.8):
        super().__init__(min_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.alpha_word_ratio


@register_operator
class StopWordFilter(StatRangeFilter):
    """Keep texts with at least ``min_stopwords`` occurrences of the Gopher stop words.

    The stop words are "the, be, to, of, and, that, have, with" (lowercase match on whole words): real
    English prose always uses them, boilerplate and keyword lists rarely do. Score column
    ``stopword_count``. Default 2 (Gopher).
    """

    output_key = OutputColumn("stopword_count", "int")
    score_name = "stopword_count"

    def __init__(self, min_stopwords: int = 2):
        super().__init__(min_value=min_stopwords)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["n_gopher_stopwords"].astype(np.int64)


@register_operator
class AlphaNumericRatioFilter(StatRangeFilter):
    """Keep texts whose share of letters and digits among all characters is at least ``min_ratio``.

    Score column ``alnum_ratio``. Default 0.25 (Data-Juicer's alphanumeric filter).
    """

    output_key = OutputColumn("alnum_ratio", "number")
    score_name = "alnum_ratio"

    def __init__(self, min_ratio: float = 0.25, max_ratio: float | None = None):
        super().__init__(min_value=min_ratio, max_value=max_ratio)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["alnum_ratio"]


@register_operator
class DigitRatioFilter(StatRangeFilter):
    """Drop texts where ASCII digits make up more than ``max_ratio`` of all characters.

    Score column ``digit_ratio``. Default 0.3.
    """

    output_key = OutputColumn("digit_ratio", "number")
    score_name = "digit_ratio"

    def __init__(self, max_ratio: float = 0.3):
        super().__init__(max_value=max_ratio)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["digit_ratio"]


@register_operator
class LineLengthFilter(StatRangeFilter):
    """Drop texts whose longest line is longer than ``max_line_chars`` characters (minified or binary data).

    Score column ``max_line_length``. Default 100,000.
    """

    output_key = OutputColumn("max_line_length", "int")
    score_name = "max_line_length"

    def __init__(self, max_line_chars: int = 100_000):
        super().__init__(max_value=max_line_chars)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["max_line_chars"].astype(np.int64)


@register_operator
class AvgLineLengthFilter(StatRangeFilter):
    """Keep texts whose mean line length (characters of non-blank stripped lines) lies in the bounds.

    Score column ``avg_line_length``. Defaults: 10 to 100,000.
    """

    output_key = OutputColumn("avg_line_length", "number")
    score_name = "avg_line_length"

    def __init__(self, min_length: float = 10, max_length: float = 100_000):
        super().__init__(min_value=min_length, max_value=max_length)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["avg_line_length"]
