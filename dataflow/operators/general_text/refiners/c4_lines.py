"""C4's line-level cleaning as a refiner."""

from __future__ import annotations

from dataflow.core.operator import Refiner
from dataflow.core.registry import register_operator
from dataflow.operators.general_text.filters.c4 import c4_clean_lines


@register_operator
class C4LineCleanerRefiner(Refiner):
    """Keep only the lines that pass C4's line rules, joined with newlines.

    Removes citation markers, then drops lines without terminal punctuation, with fewer than
    ``min_words_per_line`` (5) words, with a word over ``max_word_length`` (1000) characters, mentioning
    "javascript", or with a policy/cookie phrase ("privacy policy", "uses cookies", ...). Every rule can be
    switched off. Pair with ``C4QualityFilter`` for the page rules (lorem ipsum, curly bracket, sentences).
    """

    def __init__(self, min_words_per_line: int = 5, max_word_length: int = 1000, remove_citations: bool = True,
                 filter_no_terminal_punct: bool = True, filter_javascript: bool = True,
                 filter_policy: bool = True):
        super().__init__()
        self.options = {"min_words_per_line": min_words_per_line, "max_word_length": max_word_length,
                        "remove_citations": remove_citations,
                        "filter_no_terminal_punct": filter_no_terminal_punct,
                        "filter_javascript": filter_javascript, "filter_policy": filter_policy}

    def refine_text(self, text: str) -> str:
        return "\n".join(c4_clean_lines(text, **self.options))
