from dataflow.operators.general_text.filters.c4 import C4QualityFilter, c4_clean_lines
from dataflow.operators.general_text.filters.fineweb import FineWebQualityFilter
from dataflow.operators.general_text.filters.gopher import GopherQualityFilter, GopherRepetitionFilter
from dataflow.operators.general_text.refiners.c4_lines import C4LineCleanerRefiner

from .helpers import kept_texts, run_op

PROSE = ("The history of the river is long and it has shaped the towns that grew with its trade. "
         "Farmers have used the water to grow grain and the merchants moved goods to the coast. ")


def test_gopher_quality_keeps_prose_and_names_failed_rules():
    good = PROSE * 3
    short = "The cat and the dog."
    symbols = good + " #" * 20
    frame, dropped = run_op(GopherQualityFilter(), [good, short, symbols])
    assert frame["text"].tolist() == [good]
    assert frame["gopher_quality_failures"].tolist() == [0]
    assert dropped[short] == "gopher_quality: n_words < 50"
    assert "symbol_word_ratio > 0.1" in dropped[symbols]
    no_stop = " ".join(f"word{i}" for i in range(60))
    assert "stopword_count < 2" in run_op(GopherQualityFilter(), [no_stop])[1][no_stop]
    assert kept_texts(GopherQualityFilter(min_stopwords=None), [no_stop]) == [no_stop]


def test_gopher_repetition():
    varied = " ".join(f"w{i}" for i in range(200))
    repeated_lines = "\n".join(["same line here"] * 4 + ["other"])
    ngram_spam = "buy cheap pills now " * 30
    frame, dropped = run_op(GopherRepetitionFilter(), [varied, repeated_lines, ngram_spam])
    assert frame["text"].tolist() == [varied]
    assert "dup_line_frac > 0.3" in dropped[repeated_lines]
    assert "top_2gram_char_frac > 0.2" in dropped[ngram_spam]
    assert "dup_10gram_char_frac > 0.1" in dropped[ngram_spam]


def test_fineweb_rules():
    good = "A proper sentence ends here.\nAnother proper sentence of some length ends here."
    no_punct = "menu item one two three four five six\n" + "another menu item without an end mark"
    dup = good + "\n" + good.split("\n")[0]
    newlines = "a.\nb.\nc."
    frame, dropped = run_op(FineWebQualityFilter(), [good, no_punct, dup, newlines])
    assert frame["text"].tolist() == [good]
    assert "line_punct_ratio < 0.12" in dropped[no_punct]
    assert "dup_line_char_frac > 0.01" in dropped[dup]
    assert "newline_word_ratio > 0.3" in dropped[newlines]


def test_c4_line_rules():
    text = ("This line has enough words and ends well.[1]\nshort one.\nno terminal punctuation in this line\n"
            "Please enable JavaScript to view the page now.\nThis site uses cookies to improve your visit.\n"
            "Another good line with five words!")
    assert c4_clean_lines(text) == ["This line has enough words and ends well.", "Another good line with five words!"]
    assert kept_texts(C4LineCleanerRefiner(), [text]) == [
        "This line has enough words and ends well.\nAnother good line with five words!"]


def test_c4_quality_filter():
    good = "\n".join(["This is a good sentence with words."] * 3)
    two = "\n".join(["This is a good sentence with words."] * 2)
    lorem = good + "\nLorem ipsum dolor sit amet consectetur."
    code = good + "\nfunction f() { return 1; } is code here."
    frame, dropped = run_op(C4QualityFilter(), [good, two, lorem, code])
    assert frame["text"].tolist() == [good]
    assert dropped[two] == "c4_quality: c4_sentences < 3"
    assert dropped[lorem] == "c4_quality: lorem_ipsum > 0"
    assert "curly_bracket > 0" in dropped[code]
