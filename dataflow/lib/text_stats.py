"""Per-row text statistics: words, lines, paragraphs, sentences and n-gram repetition.

Twenty filters in a row all need the words, lines or n-grams of the same text column. :class:`TextStats`
computes them once for a list of texts, so every filter reads arrays instead of re-tokenising (the operators
share one instance per chunk through the chunk memo). Statistics come in *groups* computed lazily for all
rows on first access (a pipeline that never asks for n-gram repetition never pays for it).
:meth:`TextStats.filter_rows` keeps the rows that survive a filter: the computed arrays and the texts still
needed for groups not yet computed.

Every name is defined once: :data:`STATISTICS` (counts, by the group that computes them) and
:data:`DERIVED` (ratios of those counts); ``TextStats(texts)[name]`` reads either.

Definitions (used by the filters and their documentation):

* **words**: whitespace-separated tokens (``str.split``), as in the reference DataFlow filters, except that
  CJK ideographs and kana, written without spaces, count one word per character.
* **lines**: ``text.split("\\n")`` without the lines that are blank after stripping.
* **paragraphs**: blocks separated by one or more blank lines, stripped, blank ones dropped.
* **sentences**: maximal runs of characters other than ``.!?`` and newline, followed by optional ``.!?``,
  starting at a word boundary (the reference SentenceNumberFilter's rule).
* Duplicate lines/paragraphs count every occurrence after the first; their character fractions divide the
  characters of those repeats by the characters of all lines/paragraphs.
* N-gram statistics use lowercase words. ``top_{n}gram_char_frac`` (n = 2..4) is count x characters of the
  most frequent n-gram (0 if no n-gram repeats) over all word characters; ``dup_{n}gram_char_frac``
  (n = 5..10) is the fraction of word characters covered by any n-gram occurring more than once (each
  word counted once even if several duplicate n-grams overlap it), as in the Gopher paper.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import chain, filterfalse
from typing import Any

import numpy as np
import pandas as pd

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_SEARCH = re.compile(f"[{_CJK}]")
_CJK_WORDS = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_SENTENCE = re.compile(r"\b[^.!?\n]+[.!?]*")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
_HAS_LETTER = re.compile(r"[^\W\d_]").search
_NON_ALNUM = re.compile(r"[\W_]")
_NO_PUNCT_SPLIT = re.compile(r"[–.!?,;•/|…]")

GOPHER_STOPWORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("\u2022", "\u2023", "\u25b6", "\u25c0", "\u25e6", "\u25a0", "\u25a1", "\u25aa", "\u25ab", "\u2013",
           "-", "*", "\u00b7")
ELLIPSES = ("...", "\u2026")
# Marks that end a line of prose (FineWeb's line-punctuation rule, C4's terminal punctuation).
TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "\u201d", "\u2019", "\u3002", "\uff01", "\uff1f", "\u2026")
SHORT_LINE_CHARS = 30
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)

#: Every count statistic, under the group that computes it (a group computes all of its names at once).
STATISTICS: dict[str, tuple[str, ...]] = {
    "basic": ("n_chars", "n_nonspace_chars", "n_words", "word_chars", "n_upper_words", "n_unique_words",
              "n_nonalpha_words", "n_gopher_stopwords", "n_hash", "n_ellipsis", "n_curly", "n_newlines",
              "n_lines", "n_bullet_lines", "n_ellipsis_lines", "n_punct_end_lines", "n_short_lines",
              "n_javascript_lines", "line_chars", "max_line_chars", "n_digits"),
    "alnum": ("n_alnum",),
    "sentences": ("n_sentences",),
    "no_punct": ("max_words_without_punct",),
    "repetition_lines": ("n_dup_lines", "dup_line_chars", "n_paragraphs", "paragraph_chars",
                         "n_dup_paragraphs", "dup_paragraph_chars"),
    "ngrams": tuple(name for n in range(2, max(DUP_NGRAMS) + 1)
                    for name in ((f"top_{n}gram_char_frac",) if n in TOP_NGRAMS else ())
                    + ((f"dup_{n}gram_char_frac",) if n in DUP_NGRAMS else ())),
}
#: Ratios of two counts (0 where the denominator is 0): name -> (numerator, denominator).
RATIOS: dict[str, tuple[str, str]] = {
    "mean_word_length": ("word_chars", "n_words"),
    "unique_word_ratio": ("n_unique_words", "n_words"),
    "capital_word_ratio": ("n_upper_words", "n_words"),
    "bullet_line_ratio": ("n_bullet_lines", "n_lines"),
    "ellipsis_line_ratio": ("n_ellipsis_lines", "n_lines"),
    "dup_line_frac": ("n_dup_lines", "n_lines"),
    "dup_line_char_frac": ("dup_line_chars", "line_chars"),
    "dup_paragraph_frac": ("n_dup_paragraphs", "n_paragraphs"),
    "dup_paragraph_char_frac": ("dup_paragraph_chars", "paragraph_chars"),
    "curly_bracket_ratio": ("n_curly", "n_chars"),
    "alnum_ratio": ("n_alnum", "n_chars"),
    "digit_ratio": ("n_digits", "n_chars"),
    "avg_line_length": ("line_chars", "n_lines"),
    "line_punct_ratio": ("n_punct_end_lines", "n_lines"),
    "short_line_ratio": ("n_short_lines", "n_lines"),
    "newline_word_ratio": ("n_newlines", "n_words"),
}
#: Every derived statistic: the ratios plus two with their own rule for empty text (see TextStats).
DERIVED: tuple[str, ...] = (*RATIOS, "symbol_word_ratio", "alpha_word_ratio")
_PROVIDED_BY: dict[str, str] = {name: group for group, names in STATISTICS.items() for name in names}


def is_statistic(name: str) -> bool:
    """Whether ``name`` is a statistic :class:`TextStats` provides (a count or a derived ratio)."""
    return name in _PROVIDED_BY or name in DERIVED


def tokenize_words(text: str) -> list[str]:
    """Whitespace tokens, with CJK ideographs/kana split one per character."""
    if _CJK_SEARCH.search(text) is None:
        return text.split()
    return _CJK_WORDS.findall(text)


def split_lines(text: str) -> list[str]:
    """Lines that are not blank (kept unstripped)."""
    return [line for line in text.split("\n") if line.strip()]


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs (blocks between blank lines), stripped, blank ones dropped."""
    return [p.strip() for p in _PARAGRAPH_SPLIT.split(text) if p.strip()]


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated occurrences, their total characters): every occurrence after the first."""
    if len(items) < 2:
        return 0, 0
    counts = Counter(items)
    n = chars = 0
    for item, c in counts.items():
        if c > 1:
            n += c - 1
            chars += (c - 1) * len(item)
    return n, chars


# ----------------------------------------------------------------------------------------- groups
def _basic(texts: list[str], words_per_row: list[list[str]]) -> dict[str, np.ndarray]:
    """Character, word and line statistics (one Python pass per row, C-level work inside)."""
    names = STATISTICS["basic"]
    out = np.zeros((len(names), len(texts)), dtype=np.float64)
    stop_has = GOPHER_STOPWORDS.__contains__
    for i, (text, words) in enumerate(zip(texts, words_per_row)):
        if not text:
            continue
        lower = text.lower()
        lower_words = list(map(str.lower, words))
        lines = split_lines(text)
        stripped = [line.strip() for line in lines]
        n_chars = len(text)
        n_space = text.count(" ") + text.count("\n") + text.count("\t")
        out[:, i] = (
            n_chars,
            n_chars - n_space,
            len(words),
            sum(map(len, words)),
            sum(map(str.isupper, words)),
            len(set(lower_words)),
            sum(1 for w in filterfalse(str.isalpha, words) if _HAS_LETTER(w) is None),
            sum(map(stop_has, lower_words)),
            text.count("#"),
            text.count("...") + text.count("\u2026"),
            text.count("{") + text.count("}"),
            text.count("\n"),
            len(lines),
            sum(s.startswith(BULLETS) for s in stripped),
            sum(s.endswith(ELLIPSES) for s in stripped),
            sum(s.endswith(TERMINAL_PUNCTUATION) for s in stripped),
            sum(len(s) <= SHORT_LINE_CHARS for s in stripped),
            sum("javascript" in s for s in lower.split("\n")) if "javascript" in lower else 0,
            sum(map(len, stripped)),
            max(map(len, stripped), default=0),
            sum(map(text.count, "0123456789")),
        )
    return dict(zip(names, out))


def _alnum(texts: list[str], _words: Any = None) -> dict[str, np.ndarray]:
    """Letters and digits: characters that are neither whitespace nor punctuation/symbols."""
    values = np.zeros(len(texts))
    for i, text in enumerate(texts):
        if text:
            values[i] = len(_NON_ALNUM.sub("", text))
    return {"n_alnum": values}


def _sentences(texts: list[str], _words: Any = None) -> dict[str, np.ndarray]:
    findall = _SENTENCE.findall
    return {"n_sentences": np.fromiter((len(findall(t)) if t else 0 for t in texts), dtype=np.float64,
                                       count=len(texts))}


def _no_punct(texts: list[str], _words: Any = None) -> dict[str, np.ndarray]:
    """Longest run of words between punctuation marks (the reference NoPuncFilter statistic)."""
    split = _NO_PUNCT_SPLIT.split
    values = np.zeros(len(texts))
    for i, text in enumerate(texts):
        if text:
            values[i] = max((len(part.split()) for line in text.split("\n") for part in split(line)),
                            default=0)
    return {"max_words_without_punct": values}


def _repetition_lines(texts: list[str], _words: Any = None) -> dict[str, np.ndarray]:
    names = STATISTICS["repetition_lines"]
    out = np.zeros((len(names), len(texts)))
    for i, text in enumerate(texts):
        if not text:
            continue
        lines = [line.strip() for line in split_lines(text)]
        paragraphs = split_paragraphs(text)
        out[:, i] = (*_duplicates(lines), len(paragraphs), sum(map(len, paragraphs)),
                     *_duplicates(paragraphs))
    return dict(zip(names, out))


def _ngrams(texts: list[str], words_per_row: list[list[str]], block: int = 500) -> dict[str, np.ndarray]:
    """N-gram repetition, in blocks of rows (small hash tables stay in cache)."""
    if len(texts) <= block:
        return _ngrams_block(texts, words_per_row)
    parts = [_ngrams_block(texts[i:i + block], words_per_row[i:i + block]) for i in range(0, len(texts), block)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _ngrams_block(texts: list[str], words_per_row: list[list[str]]) -> dict[str, np.ndarray]:
    """N-gram repetition of many rows at once, on one flat array of word hashes.

    An n-gram can only repeat where its two (n-1)-gram halves both repeat, so from n = 3 on only those
    candidate positions are hashed and counted; in real text they are a small fraction.
    """
    n_rows = len(texts)
    counts = np.fromiter(map(len, words_per_row), dtype=np.int64, count=n_rows)
    total = int(counts.sum())
    flat = list(chain.from_iterable(words_per_row))
    # Python's str hash is salted per process but stable within it, which is all equality needs here.
    ids = np.fromiter(map(hash, flat), dtype=np.int64, count=total).view(np.uint64)
    lengths = np.fromiter(map(len, flat), dtype=np.float64, count=total)
    del flat
    row_of = np.repeat(np.arange(n_rows), counts)
    word_chars = np.bincount(row_of, weights=lengths, minlength=n_rows)
    denominator = np.where(word_chars > 0, word_chars, 1.0)
    cum_len = np.concatenate(([0.0], np.cumsum(lengths)))
    # Mixing the row into each key keeps equal n-grams of different rows apart.
    key = ids ^ ((row_of.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    prime = np.uint64(1099511628211)
    result: dict[str, np.ndarray] = {}
    positions = np.arange(total)  # start positions still able to repeat
    repeated = np.ones(total, dtype=bool)  # by start position: the (n-1)-gram there repeats
    for n in range(2, max(DUP_NGRAMS) + 1):
        last = total - n + 1
        positions = positions[positions < last]
        if n > 2:
            positions = positions[repeated[positions] & repeated[positions + 1]]
        positions = positions[row_of[positions] == row_of[positions + n - 1]]
        # key[p] holds the hash of the (n-1)-gram starting at p; extend it by one word.
        key[positions] = key[positions] * prime + ids[positions + n - 1]
        codes, _ = pd.factorize(key[positions])
        freq = np.bincount(codes)[codes] if len(codes) else np.zeros(0, dtype=np.int64)
        dup_mask = freq > 1
        repeated = np.zeros(total, dtype=bool)
        repeated[positions[dup_mask]] = True
        positions, freq = positions[dup_mask], freq[dup_mask]
        rows = row_of[positions]
        gram_chars = cum_len[positions + n] - cum_len[positions]
        if n in TOP_NGRAMS:
            # Per row: the most frequent repeated n-gram (ties: the longest), count x its characters.
            row_max_freq = _row_max(freq.astype(np.float64), rows, n_rows)
            score = np.where(freq == row_max_freq[rows], freq * gram_chars, 0.0)
            result[f"top_{n}gram_char_frac"] = _row_max(score, rows, n_rows) / denominator
        if n in DUP_NGRAMS:
            # Words covered by at least one repeated n-gram, each counted once.
            covered = np.unique((positions[:, None] + np.arange(n)).ravel())
            chars = np.bincount(row_of[covered], weights=lengths[covered], minlength=n_rows)
            result[f"dup_{n}gram_char_frac"] = chars / denominator
    return result


def _row_max(values: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Maximum of ``values`` per row; ``rows`` is non-decreasing, so each row is one contiguous run."""
    out = np.zeros(n_rows)
    if len(values):
        run_starts = np.concatenate(([0], np.flatnonzero(np.diff(rows)) + 1))
        out[rows[run_starts]] = np.maximum.reduceat(values, run_starts)
    return out


# The function computing each group of STATISTICS (it returns exactly that group's names).
_GROUPS: dict[str, Callable[[list[str], Any], dict[str, np.ndarray]]] = {
    "basic": _basic, "alnum": _alnum, "sentences": _sentences, "no_punct": _no_punct,
    "repetition_lines": _repetition_lines, "ngrams": _ngrams,
}


def _ratio_property(name: str) -> property:
    numerator, denominator = RATIOS[name]
    return property(lambda self: self.ratio(numerator, denominator),
                    doc=f"``{numerator} / {denominator}`` per row (0 where ``{denominator}`` is 0).")


class TextStats:
    """Per-row statistics of one text column, computed lazily by group and kept row-aligned.

    ``stats["n_words"]`` returns a float array with one value per row (missing texts count as empty);
    any name of :data:`STATISTICS` or :data:`DERIVED` can be read this way; the common ratios are also
    properties (``stats.mean_word_length``). See the module docstring for the definitions.
    """

    #: Rows tokenised at a time. Word lists are Python strings (~60 bytes each), so holding them for a
    #: whole 10,000-document chunk would cost hundreds of MB; per block they stay a few MB.
    block_rows = 1000

    def __init__(self, texts: Iterable[Any]) -> None:
        self.texts: list[str] = [t if isinstance(t, str) else "" for t in texts]
        self._columns: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._columns:
            if name in RATIOS:
                return self.ratio(*RATIOS[name])
            if name in DERIVED:
                return getattr(self, name)
            group = _PROVIDED_BY.get(name)
            if group is None:
                raise KeyError(f"unknown text statistic {name!r}; known: {sorted(_PROVIDED_BY) + sorted(DERIVED)}")
            compute, needs_words = _GROUPS[group], group in ("basic", "ngrams")
            parts = []
            for start in range(0, max(len(self.texts), 1), self.block_rows):
                texts = self.texts[start:start + self.block_rows]
                words = [tokenize_words(t) if t else [] for t in texts] if needs_words else None
                parts.append(compute(texts, words))
            self._columns.update({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
        return self._columns[name]

    def filter_rows(self, mask: np.ndarray) -> TextStats:
        mask = np.asarray(mask, dtype=bool)
        kept = TextStats.__new__(TextStats)
        kept.texts = [t for t, m in zip(self.texts, mask.tolist()) if m]
        kept._columns = {name: values[mask] for name, values in self._columns.items()}
        return kept

    # ---------------------------------------------------------------- derived ratios
    def ratio(self, numerator: str, denominator: str, empty: float = 0.0) -> np.ndarray:
        num, den = self[numerator], self[denominator]
        out = np.full(len(num), empty, dtype=np.float64)
        np.divide(num, den, out=out, where=den > 0)
        return out

    mean_word_length = _ratio_property("mean_word_length")
    unique_word_ratio = _ratio_property("unique_word_ratio")
    capital_word_ratio = _ratio_property("capital_word_ratio")
    bullet_line_ratio = _ratio_property("bullet_line_ratio")
    ellipsis_line_ratio = _ratio_property("ellipsis_line_ratio")
    dup_line_frac = _ratio_property("dup_line_frac")
    dup_line_char_frac = _ratio_property("dup_line_char_frac")
    dup_paragraph_frac = _ratio_property("dup_paragraph_frac")
    dup_paragraph_char_frac = _ratio_property("dup_paragraph_char_frac")

    @property
    def symbol_word_ratio(self) -> np.ndarray:
        """(``#`` + ``...``/``…``) occurrences per word; inf for text without words but with symbols."""
        num = self["n_hash"] + self["n_ellipsis"]
        words = self["n_words"]
        out = np.where(num > 0, np.inf, 0.0)
        np.divide(num, words, out=out, where=words > 0)
        return out

    @property
    def alpha_word_ratio(self) -> np.ndarray:
        """Share of words with a letter; 1 for text without words."""
        return 1.0 - self.ratio("n_nonalpha_words", "n_words", empty=1.0)
