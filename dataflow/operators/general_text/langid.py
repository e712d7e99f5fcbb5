"""Language identification with py3langid (a naive Bayes model shipped inside the wheel: no downloads).

Languages are ISO 639-1 codes (``en``, ``de``, ``zh`` ...), ``und`` when the text has no letters. The
model reads the first ``max_chars`` characters (default 2,000; enough for a confident guess, and it
bounds the cost on long documents).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import Filter, Generator, InputColumn, OutputColumn
from dataflow.core.registry import register_operator

_LETTER = re.compile(r"[^\W\d_]")
_REQUIRES = {"py3langid": "py3langid==0.4.0"}


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(texts: list[Any], max_chars: int = 2000) -> tuple[list[str], np.ndarray]:
    """(language codes, confidences in [0, 1]) for each text."""
    ident = _identifier()
    langs, confs = [], np.zeros(len(texts))
    for i, text in enumerate(texts):
        if not isinstance(text, str) or _LETTER.search(text) is None:
            langs.append("und")
            continue
        lang, conf = ident.classify(text[:max_chars])
        langs.append(lang)
        confs[i] = conf
    return langs, confs


def _memo_identify(batch: pd.DataFrame, ctx: Any, max_chars: int) -> tuple[list[str], np.ndarray]:
    column = ctx.cols.input_key
    return ctx.memo.get(column, f"langid:{max_chars}", lambda: _LangResult(*identify(batch[column].tolist(),
                                                                                      max_chars))).pair


class _LangResult:
    def __init__(self, langs: list[str], confs: np.ndarray) -> None:
        self.pair = (langs, confs)

    def filter_rows(self, mask: np.ndarray) -> _LangResult:
        m = np.asarray(mask, dtype=bool)
        return _LangResult([x for x, k in zip(self.pair[0], m.tolist()) if k], self.pair[1][m])


@register_operator
class LanguageIdentifier(Generator):
    """Add the text's language (ISO 639-1 code, ``und`` if it has no letters) and the model's confidence.

    Uses py3langid's bundled model (97 languages) on the first ``max_chars`` characters.
    """

    requires = _REQUIRES
    input_key = InputColumn("text", "str", nullable=True)
    output_language = OutputColumn("language", "str")
    output_confidence = OutputColumn("language_confidence", "number")

    def __init__(self, max_chars: int = 2000):
        super().__init__()
        self.max_chars = max_chars

    def generate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        langs, confs = _memo_identify(batch, ctx, self.max_chars)
        out: dict[str, Any] = {}
        if ctx.cols.output_language:
            out[ctx.cols.output_language] = np.asarray(langs, dtype=object)
        if ctx.cols.output_confidence:
            out[ctx.cols.output_confidence] = confs
        return out


@register_operator
class LanguageFilter(Filter):
    """Keep texts identified as one of ``allowed_languages`` with confidence >= ``min_confidence``.

    Writes the language to ``output_key`` (default ``language``); drop reasons say ``language=fr not in
    ['en']`` or ``language_confidence < 0.5``.
    """

    requires = _REQUIRES
    input_key = InputColumn("text", "str", nullable=True)
    output_key = OutputColumn("language", "str")

    def __init__(self, allowed_languages: list[str] | None = None, min_confidence: float = 0.0,
                 max_chars: int = 2000):
        super().__init__()
        self.allowed_languages = list(allowed_languages) if allowed_languages is not None else ["en"]
        self.min_confidence = min_confidence
        self.max_chars = max_chars

    def score(self, batch: pd.DataFrame, ctx: Any) -> np.ndarray:
        return np.asarray(_memo_identify(batch, ctx, self.max_chars)[0], dtype=object)

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        langs, confs = _memo_identify(batch, ctx, self.max_chars)
        allowed = set(self.allowed_languages)
        mask = np.zeros(len(langs), dtype=bool)
        reasons = np.full(len(langs), "", dtype=object)
        for i, lang in enumerate(langs):
            if lang not in allowed:
                reasons[i] = f"language={lang} not in {sorted(allowed)}"
            elif confs[i] < self.min_confidence:
                reasons[i] = f"language_confidence < {self.min_confidence}"
            else:
                mask[i] = True
        return mask, reasons
