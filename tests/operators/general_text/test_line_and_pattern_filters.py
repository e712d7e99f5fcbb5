import pytest

from dataflow.operators.general_text.filters.line_rules import (
    ColonEndFilter,
    LineEndWithEllipsisFilter,
    LineStartWithBulletpointFilter,
    LineWithJavascriptFilter,
    NoPuncFilter,
)
from dataflow.operators.general_text.filters.patterns import (
    BlocklistFilter,
    HtmlEntityFilter,
    IDCardFilter,
    LoremIpsumFilter,
    SpecialCharacterFilter,
    WatermarkFilter,
)

from .helpers import kept_texts, run_op


def test_colon_end_filter():
    assert kept_texts(ColonEndFilter(), ["Steps:  \n", "Done.", "a: b", ""]) == ["Done.", "a: b"]


def test_line_end_with_ellipsis_filter():
    ok = "a...\nb\nc\nd"  # 1/4 = 0.25
    bad = "a...\nb…\nc"  # 2/3
    assert kept_texts(LineEndWithEllipsisFilter(threshold=0.3), [ok, bad]) == [ok]


def test_bullet_filter():
    texts = ["• a\n• b\nc", "• a\n- b\n* c"]
    frame, dropped = run_op(LineStartWithBulletpointFilter(threshold=0.9), texts)
    assert frame["text"].tolist() == [texts[0]]
    assert dropped[texts[1]] == "bullet_line_ratio > 0.9"


def test_javascript_filter():
    short = "enable javascript\njavascript\nJavaScript"
    many_bad = "javascript a\njavascript b\nok 1\nok 2"
    enough_ok = "javascript a\nok 1\nok 2\nok 3"
    assert kept_texts(LineWithJavascriptFilter(), [short, many_bad, enough_ok]) == [short, enough_ok]


def test_no_punc_filter():
    long_run = " ".join(["w"] * 5)
    assert kept_texts(NoPuncFilter(threshold=4), ["w w w w, w w w w", long_run]) == ["w w w w, w w w w"]


def test_html_entity_filter():
    texts = ["fish &amp; chips", "a ＆lt；b", "price &#163;5", "AT&T and R&D", "&nbsp"]
    assert kept_texts(HtmlEntityFilter(), texts) == ["AT&T and R&D"]


def test_special_character_filter():
    assert kept_texts(SpecialCharacterFilter(), ["bad \ufffd char", "emoji U+1F600 code", "fine text"]) == \
        ["fine text"]


def test_watermark_filter_default_and_custom():
    assert kept_texts(WatermarkFilter(), ["Copyright 2020 ACME", "copyright lower", "x"]) == ["copyright lower", "x"]
    assert kept_texts(WatermarkFilter(watermarks=["DRAFT"]), ["Copyright ok", "DRAFT v2"]) == ["Copyright ok"]


def test_lorem_ipsum_filter():
    assert kept_texts(LoremIpsumFilter(), ["Lorem Ipsum dolor", "real text"]) == ["real text"]


def test_id_card_filter():
    two = "ID number here, identity there"
    three = two + " and an id card"
    assert kept_texts(IDCardFilter(), [two, three]) == [two]


def test_blocklist_filter_builtin_extra_and_file(tmp_path):
    assert kept_texts(BlocklistFilter(), ["free porn", "porn, XXX!", "clean text"]) == ["free porn", "clean text"]
    f = tmp_path / "words.txt"
    f.write_text("# comment\nbanana\nred apple\n")
    op = BlocklistFilter(language=None, threshold=0, extra_words=["kiwi"], blocklist_file=str(f))
    assert kept_texts(op, ["a Banana.", "kiwi", "the red apple pie", "porn is not in this list"]) == \
        ["porn is not in this list"]


def test_blocklist_default_is_the_list_badwords_py_ships():
    from dataflow.operators.general_text.filters.patterns import packaged_blocklist

    path = packaged_blocklist("en")
    assert path.parts[-4:] == ("badwords", "resource", "words", "en.txt")
    op = BlocklistFilter()
    assert len(op.words) > 700 and {"porn", "intercourse"} <= op.words
    assert op.requires == {"badwords": "badwords-py"}  # compile() checks it is installed
    assert len(BlocklistFilter(language="de").words) > 50
    with pytest.raises(ValueError, match="blocklist_file"):
        _ = BlocklistFilter(language="zz").words


def test_blocklist_word_count_equals_one_regex_over_all_entries():
    """The candidate narrowing (entries whose word runs all occur in the text) counts what one
    alternation of every entry, longest first, counts: overlaps, phrases, entries with symbols, case."""
    import random
    import re

    entries = ["red apple", "apple", "red", "a$$", "$hit", "b!tch", "x-rated", "2 girls 1 cup", "girls",
               "@@", "ice-cream cone", "cream"]
    op = BlocklistFilter(language=None, threshold=100, extra_words=entries)
    words = op.words
    ordered = sorted(words, key=lambda w: (-len(w), w))
    one_regex = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")
    rng = random.Random(7)
    vocab = ["red", "apple", "Red Apple", "a$$", "a$$$", "$hit", "s$hit", "b!tch", "x-rated", "X-Rated-ish",
             "2", "girls", "1", "cup", "@@", "@@@", "ice-cream", "cone", "cream", "creamy", "é", "apple's",
             ",", ".", "\n", "pineapple", "redapple"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += ["2 girls 1 cup", "red apple red", "ice-cream cone!", "@@@@", "a$$ a$$"]
    got = run_op(op, texts)[0]["blocklist_count"].tolist()
    assert got == [len(one_regex.findall(t.lower())) if t else 0 for t in texts]
    assert max(got) > 3


def test_blocklist_token_match_is_the_reference_rule(tmp_path):
    text = "porn, and more porn."
    assert kept_texts(BlocklistFilter(), [text]) == []  # two whole words
    assert kept_texts(BlocklistFilter(match="tokens"), [text]) == [text]  # "porn," and "porn." are no tokens
    assert kept_texts(BlocklistFilter(match="tokens"), ["porn porn"]) == []
