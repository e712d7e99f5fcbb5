"""Answer scores of extractive QA evaluation: normalised exact match and token F1.

The normalisation and rules are those of the SQuAD and HotpotQA evaluation scripts: lower-case, drop
ASCII punctuation, drop the articles ``a``/``an``/``the`` as words, collapse whitespace. Token F1 counts
the common tokens as a multiset; HotpotQA's rule: when either side normalises to ``yes``, ``no`` or
``noanswer`` and the two differ, F1 (and precision and recall) are 0. With several references, a
prediction's score is its best over them.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_CLOSED = frozenset({"yes", "no", "noanswer"})


def normalize_answer(text: str) -> str:
    """``The  Eiffel-Tower!`` -> ``eiffeltower``: lower-case, no punctuation, no articles, single spaces."""
    text = str(text).lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def f1_precision_recall(prediction: str, reference: str) -> tuple[float, float, float]:
    """(F1, precision, recall) of the normalised tokens of ``prediction`` against ``reference``."""
    pred, ref = normalize_answer(prediction), normalize_answer(reference)
    if (pred in _CLOSED or ref in _CLOSED) and pred != ref:
        return 0.0, 0.0, 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    same = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if same == 0:
        return 0.0, 0.0, 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall), precision, recall


def token_f1(prediction: str, references: str | Sequence[str]) -> float:
    """The best token F1 of ``prediction`` over ``references`` (one string or several); 0 without any."""
    refs = [references] if isinstance(references, str) else list(references)
    return max((f1_precision_recall(prediction, r)[0] for r in refs), default=0.0)


def exact_match(prediction: str, references: str | Sequence[str]) -> bool:
    """Whether ``prediction`` equals one of ``references`` after normalisation."""
    refs = [references] if isinstance(references, str) else list(references)
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(r) for r in refs)
