import pytest

from dataflow.operators.general_text.filters.heuristics import (
    AlphaNumericRatioFilter,
    AlphaWordsFilter,
    AvgLineLengthFilter,
    CapitalWordsFilter,
    CharNumberFilter,
    ContentNullFilter,
    CurlyBracketFilter,
    DigitRatioFilter,
    LineLengthFilter,
    MeanWordLengthFilter,
    SentenceNumberFilter,
    StopWordFilter,
    SymbolWordRatioFilter,
    UniqueWordsFilter,
    WordNumberFilter,
)

from .helpers import kept_texts, run_op


def test_word_number_filter_bounds_and_reason():
    frame, dropped = run_op(WordNumberFilter(min_words=3, max_words=4), ["a b", "a b c", "a b c d", "a b c d e"])
    assert frame["text"].tolist() == ["a b c", "a b c d"]
    assert frame["word_count"].tolist() == [3, 4]
    assert dropped == {"a b": "word_count < 3", "a b c d e": "word_count > 4"}


def test_char_number_filter_ignores_whitespace():
    assert kept_texts(CharNumberFilter(threshold=5), ["ab c d", "ab\n c\td e", None]) == ["ab\n c\td e"]


def test_sentence_number_filter():
    assert kept_texts(SentenceNumberFilter(min_sentences=3), ["One. Two. Three.", "One. Two."]) == \
        ["One. Two. Three."]


def test_mean_word_length_filter():
    assert kept_texts(MeanWordLengthFilter(), ["ab ab", "abc abc", "a" * 10, "a" * 11, ""]) == ["abc abc", "a" * 10]


def test_content_null_filter():
    frame, dropped = run_op(ContentNullFilter(), ["x", "", "  \n", None])
    assert frame["text"].tolist() == ["x"]
    assert set(dropped.values()) == {"nonspace_char_count < 1"}


def test_symbol_word_ratio_filter():
    texts = ["# a b c d", "# # a b c", "...", "plain words"]
    assert kept_texts(SymbolWordRatioFilter(threshold=0.25), texts) == ["# a b c d", "plain words"]


def test_curly_bracket_filter():
    assert kept_texts(CurlyBracketFilter(threshold=0.1), ["{" + "a" * 9, "{}" + "a" * 8]) == ["{" + "a" * 9]


def test_capital_words_filter():
    assert kept_texts(CapitalWordsFilter(threshold=0.25), ["NASA a b c", "NASA USA a b"]) == ["NASA a b c"]


def test_unique_words_filter():
    # case-insensitive: "A a a b" has 2 distinct words of 4
    assert kept_texts(UniqueWordsFilter(threshold=0.6), ["A a b c", "A a a b"]) == ["A a b c"]


def test_alpha_words_filter():
    assert kept_texts(AlphaWordsFilter(threshold=0.75), ["a b c 1", "a b 1 2", "x1 y2 z3 ?!"]) == \
        ["a b c 1", "x1 y2 z3 ?!"]


def test_stop_word_filter():
    assert kept_texts(StopWordFilter(), ["The cat and dog", "the cat sat", "THE end TO"]) == \
        ["The cat and dog", "THE end TO"]


def test_alnum_digit_and_line_length_filters():
    assert kept_texts(AlphaNumericRatioFilter(min_ratio=0.5), ["ab!!", "a!!!"]) == ["ab!!"]
    assert kept_texts(DigitRatioFilter(max_ratio=0.5), ["12ab", "123a"]) == ["12ab"]
    assert kept_texts(LineLengthFilter(max_line_chars=3), ["abc\nab", "abcd"]) == ["abc\nab"]
    assert kept_texts(AvgLineLengthFilter(min_length=3), ["abc\n\nabc", "abcd\nab"]) == ["abc\n\nabc", "abcd\nab"]
    assert kept_texts(AvgLineLengthFilter(min_length=3.5), ["abc\n\nabc", "abcd\nab"]) == []


@pytest.mark.parametrize("op", [WordNumberFilter(), MeanWordLengthFilter(), UniqueWordsFilter()])
def test_reference_defaults(op):
    assert op.params  # constructed with reference defaults
    assert (op.min_value, op.max_value) in {(20, 100_000), (3, 10), (0.1, None)}
