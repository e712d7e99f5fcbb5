"""Language-light lexing of source code: tokens without comments or whitespace, and word n-grams.

:func:`code_tokens` splits source text into identifiers and keywords, numbers, string literals (one token
each, quotes included) and operators (longest match first, so ``==`` or ``->`` stay one token), and drops
comments and whitespace. It is a single regular-expression scanner, not a parser: it never fails, works on
broken or partial code, and treats every language the same except for its comment syntax:

* ``"hash"`` (Python, shell, Ruby, R, Perl, YAML, ...): ``#`` to the end of the line;
* ``"c"`` (C, C++, Java, JavaScript, Go, Rust, ...): ``//`` to the end of the line and ``/* ... */``;
* ``"auto"`` (the language is unknown): both, except that a ``#`` starting a C preprocessor directive
  (``#include``, ``#define``, ...) is code, and ``//`` is a comment only at the start of a line or after
  whitespace (so Python's ``a//b`` survives, while ``a // b`` loses the rest of its line).

:func:`comment_style` maps a language name (as in a ``language`` column: "Python", "C++", ...) to a
style. :func:`word_tokens` is the cruder lexer the decontamination check uses on code and prose alike
(lowercased words and single punctuation characters, comments and strings included). Both are
deterministic and pure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

CommentStyle = Literal["auto", "hash", "c"]

_HASH_LANGUAGES = {
    "python", "py", "python3", "shell", "bash", "sh", "zsh", "ruby", "rb", "perl", "r", "yaml", "yml",
    "toml", "makefile", "cmake", "dockerfile", "powershell", "julia", "elixir", "nim", "tcl", "coffeescript",
}
_C_LANGUAGES = {
    "c", "c++", "cpp", "c#", "csharp", "java", "javascript", "js", "typescript", "ts", "go", "rust", "rs",
    "kotlin", "swift", "scala", "dart", "php", "objective-c", "groovy", "css", "scss", "less", "solidity",
    "verilog", "protocol buffer", "protobuf", "zig",
}

_STRING = r"""(?:[rbuRBUfF]{0,2})(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|`(?:\\.|[^`\\])*`?)"""
_NUMBER = r"(?:0[xXbBoO][0-9a-fA-F_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)[a-zA-Z]*"
_IDENT = r"[^\W\d]\w*"
_OPERATOR = (r"(?:>>>=|<<=|>>=|\*\*=|//=|\.\.\.|->|=>|::|:=|==|!=|<=|>=|&&|\|\||\+\+|--|<<|>>|\*\*|//"
             r"|[-+*/%&|^~<>!=?:;,.@$\\(){}\[\]#])")
_C_PREPROCESSOR = r"#\s*(?:include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|import|error|line)\b"
_COMMENTS = {
    "hash": r"(?P<comment>#[^\n]*)",
    "c": r"(?P<comment>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))",
    "auto": rf"(?P<comment>/\*[\s\S]*?(?:\*/|\Z)|(?:(?<=\s)|^)//[^\n]*|(?!{_C_PREPROCESSOR})#[^\n]*)",
}


@lru_cache(maxsize=3)
def _scanner(style: CommentStyle) -> re.Pattern[str]:
    if style not in _COMMENTS:
        raise ValueError(f"comment style must be one of {sorted(_COMMENTS)}, not {style!r}")
    parts = [_COMMENTS[style], rf"(?P<string>{_STRING})", rf"(?P<number>{_NUMBER})",
             rf"(?P<ident>{_IDENT})", rf"(?P<op>{_OPERATOR})", r"(?P<space>\s+)", r"(?P<other>.)"]
    return re.compile("|".join(parts), re.MULTILINE)


def comment_style(language: str | None) -> CommentStyle:
    """The comment syntax of ``language`` (case-insensitive; unknown or missing -> ``"auto"``)."""
    name = (language or "").strip().lower()
    if name in _HASH_LANGUAGES:
        return "hash"
    if name in _C_LANGUAGES:
        return "c"
    return "auto"


def code_tokens(source: str, style: CommentStyle = "auto") -> list[str]:
    """The tokens of ``source`` in order, comments and whitespace left out (see the module doc).

    >>> code_tokens("x = foo(1)  # set x")
    ['x', '=', 'foo', '(', '1', ')']
    """
    return [m.group() for m in _scanner(style).finditer(source)
            if m.lastgroup not in ("comment", "space")]


_WORD_OR_PUNCT = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    """Lowercased words (``\\w+``) and single non-space symbols of ``text``, everything included."""
    return _WORD_OR_PUNCT.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """The ``n``-grams of ``tokens``; a non-empty sequence shorter than ``n`` is one n-gram of itself."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(tokens) < n:
        return [tuple(tokens)] if tokens else []
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
