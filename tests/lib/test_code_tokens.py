"""The code lexer: tokens without comments or layout, per comment style; word tokens and n-grams."""

from __future__ import annotations

import pytest

from dataflow.lib.code_tokens import code_tokens, comment_style, ngrams, word_tokens

PYTHON = '''def area(r):  # circle
    """Area of a circle; '#' here is text."""
    s = "# not a comment" + 'it\\'s'
    return 3.14159 * r ** 2 // 1  # floor
'''
C = '''#include <stdio.h>
/* a block
   comment */
int main(void) {  // entry
    char *s = "// not a comment";
    return x->y >= 0x1F ? 1 : 0;
}
'''


def test_python_tokens_drop_comments_keep_strings_and_operators():
    expected = ["def", "area", "(", "r", ")", ":", '"""Area of a circle; \'#\' here is text."""',
                "s", "=", '"# not a comment"', "+", "'it\\'s'",
                "return", "3.14159", "*", "r", "**", "2", "//", "1"]
    assert code_tokens(PYTHON, "hash") == expected
    # Not knowing the language, " // " starts a C++ comment: Python's spaced floor division is lost.
    assert code_tokens(PYTHON, "auto") == expected[:-2]


def test_auto_style_treats_spaced_double_slash_as_a_comment():
    assert code_tokens("q = a // b", "hash") == ["q", "=", "a", "//", "b"]
    assert code_tokens("q = a // b", "auto") == ["q", "=", "a"]
    assert code_tokens("q = a//b", "auto") == ["q", "=", "a", "//", "b"]


def test_c_tokens_and_preprocessor_lines():
    expected = ["#", "include", "<", "stdio", ".", "h", ">", "int", "main", "(", "void", ")", "{",
                "char", "*", "s", "=", '"// not a comment"', ";", "return", "x", "->", "y", ">=", "0x1F",
                "?", "1", ":", "0", ";", "}"]
    assert code_tokens(C, "auto") == expected
    assert code_tokens(C, "c") == expected
    assert code_tokens("#include <x.h>\nint y; // z", "hash") == ["int", "y", ";", "//", "z"]


def test_layout_and_comments_do_not_change_tokens():
    a = "for i in range(10):\n    total += i\n"
    b = "for i in range( 10 ) :  # loop\n\n\ttotal+=i   # add\n"
    assert code_tokens(a) == code_tokens(b)
    assert code_tokens("s = 'unterminated\nx = 1") == ["s", "=", "'unterminated", "x", "=", "1"]
    assert code_tokens("") == []
    with pytest.raises(ValueError):
        code_tokens("x", "xml")


def test_comment_style_by_language_name():
    assert [comment_style(x) for x in ("Python", "Shell", "C++", "JavaScript", "Go", None, "COBOL")] == \
        ["hash", "hash", "c", "c", "c", "auto", "auto"]


def test_word_tokens_and_ngrams():
    assert word_tokens("Write a function: sum_list(xs) -> int.") == \
        ["write", "a", "function", ":", "sum_list", "(", "xs", ")", "-", ">", "int", "."]
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert ngrams(["a"], 3) == [("a",)] and ngrams([], 3) == []
