import random
from collections import Counter

import numpy as np
import pytest

from dataflow.lib import text_stats
from dataflow.lib.text_stats import DERIVED, RATIOS, STATISTICS, TextStats, is_statistic, tokenize_words


def test_tokenize_words_whitespace_and_cjk():
    assert tokenize_words("Hello,  world!\tok") == ["Hello,", "world!", "ok"]
    assert tokenize_words("我爱 Python 3") == ["我", "爱", "Python", "3"]


def test_basic_counts():
    text = "The CAT sat.\n\n- THE dog ran...\n# 12 34"
    s = TextStats([text, None, ""])
    assert s["n_words"].tolist() == [10, 0, 0]
    assert s["n_lines"][0] == 3
    assert s["n_bullet_lines"][0] == 1 and s["n_ellipsis_lines"][0] == 1
    assert s["n_upper_words"][0] == 2  # CAT, THE
    assert s["n_unique_words"][0] == 9  # "the" twice after lowercasing
    assert s["n_nonalpha_words"][0] == 4  # -, #, 12, 34
    assert s["n_gopher_stopwords"][0] == 2
    assert s["n_hash"][0] == 1 and s["n_ellipsis"][0] == 1
    assert s["n_nonspace_chars"][0] == len(text.replace(" ", "").replace("\n", ""))
    assert s.mean_word_length[1] == 0.0


def _brute_dup_frac(words, n):
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    covered = set()
    for i in range(len(words) - n + 1):
        if grams[tuple(words[i:i + n])] > 1:
            covered.update(range(i, i + n))
    total = sum(map(len, words))
    return sum(len(words[i]) for i in covered) / total if total else 0.0


def _brute_top_frac(words, n):
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams or max(grams.values()) < 2:
        return 0.0
    best = max(grams.values())
    chars = max(sum(map(len, g)) for g, c in grams.items() if c == best)
    return best * chars / sum(map(len, words))


def test_ngram_stats_match_brute_force():
    rng = random.Random(3)
    vocab = ["a", "bb", "ccc", "dddd", "the", "of"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 60))) for _ in range(40)]
    texts += ["x y z " * 5, "one two three four five six seven", "solo"]
    s = TextStats(texts)
    for n in (2, 3, 4):
        expected = [_brute_top_frac(t.split(), n) for t in texts]
        assert np.allclose(s[f"top_{n}gram_char_frac"], expected), n
    for n in range(5, 11):
        expected = [_brute_dup_frac(t.split(), n) for t in texts]
        assert np.allclose(s[f"dup_{n}gram_char_frac"], expected), n


def test_rows_do_not_share_ngrams():
    text = "alpha beta gamma delta epsilon"
    s = TextStats([text, text])
    assert s["dup_5gram_char_frac"].tolist() == [0.0, 0.0]


def test_duplicate_lines_and_paragraphs():
    s = TextStats(["same line\nsame line\nother\n\nsame line"])
    assert s["n_dup_lines"][0] == 2 and s.dup_line_frac[0] == pytest.approx(2 / 4)
    assert s.dup_line_char_frac[0] == pytest.approx(18 / 32)
    assert s["n_paragraphs"][0] == 2 and s["n_dup_paragraphs"][0] == 0


def test_filter_rows_keeps_alignment_for_computed_and_lazy_groups():
    s = TextStats(["a b c", "d e", "f"])
    assert s["n_words"].tolist() == [3, 2, 1]
    kept = s.filter_rows(np.array([True, False, True]))
    assert kept["n_words"].tolist() == [3, 1]
    assert kept["n_sentences"].tolist() == [1, 1]  # computed after filtering, on the kept texts


def test_every_group_computes_exactly_the_names_the_table_gives_it():
    texts = ["One two. One two three four five six seven.\n\nOne two", "", "x"]
    words = [tokenize_words(t) for t in texts]
    assert set(STATISTICS) == set(text_stats._GROUPS)
    for group, names in STATISTICS.items():
        assert tuple(text_stats._GROUPS[group](texts, words)) == names
    every = [name for names in STATISTICS.values() for name in names]
    assert len(every) == len(set(every)) and not set(every) & set(DERIVED)


def test_every_derived_statistic_reads_by_name_and_as_property():
    s = TextStats(["a b b\n- c...", "", "x y"])
    for name in DERIVED:
        assert is_statistic(name)
        if hasattr(TextStats, name):
            np.testing.assert_array_equal(s[name], getattr(s, name))
    assert s["symbol_word_ratio"].tolist() == [1 / 5, 0, 0]  # one ellipsis, five words
    for name, (numerator, denominator) in RATIOS.items():
        np.testing.assert_array_equal(s[name], s.ratio(numerator, denominator))
    assert not is_statistic("n_wordz")
    with pytest.raises(KeyError, match="n_wordz"):
        s["n_wordz"]
