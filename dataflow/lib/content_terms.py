"""Content words of a text, compared loosely: the overlap measure the knowledge QA checks share.

Stop words are left out, words are lower-cased, a plural ``s`` is dropped and words are cut to their
first 5 characters so that inflections match ("preparing" / "prepare"); numbers stay whole, so a wrong
figure never matches. Cheap and deterministic: it tells whether a text's words come from a passage,
not whether the text is true.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as into than then that this these those it its is "
    "are was were be been being do does did has have had not no yes can could will would shall should may "
    "might must which who whom whose what when where why how there their they them he she his her we our you "
    "your i me my so such also about over under between all any each both more most other some only same".split())


def stem(word: str) -> str:
    """A lower-cased word as compared: numbers whole, else without a plural ``s``, cut to 5 characters."""
    word = word.lower()
    return word if word.isdigit() else (word[:-1] if len(word) > 3 and word.endswith("s") else word)[:5]


def content_terms(text: str) -> list[str]:
    """The stems of the words of ``text`` that carry content, in order."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def coverage(text: str, terms: set[str]) -> float | None:
    """The fraction of ``text``'s content words found in ``terms``; None when it has none."""
    found = content_terms(text)
    return sum(t in terms for t in found) / len(found) if found else None
