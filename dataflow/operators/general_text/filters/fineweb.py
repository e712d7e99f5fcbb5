"""The FineWeb quality rules (Penedo et al., 2024)."""

from __future__ import annotations

import numpy as np

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import TextStats
from dataflow.operators.general_text.filters._base import RuleSetFilter


@register_operator
class FineWebQualityFilter(RuleSetFilter):
    """FineWeb's line-based quality rules; a row is kept only if it passes all of them.

    * ``line_punct_ratio``: lines ending in terminal punctuation (``. ! ? " '`` and their CJK/typographic
      forms, ellipsis) over lines >= ``min_line_punct_ratio`` (0.12);
    * ``short_line_ratio``: lines of at most 30 characters over lines <= ``max_short_line_ratio`` (0.67);
    * ``dup_line_char_frac``: characters in repeated lines (every occurrence after the first) over the
      characters of all lines <= ``max_dup_line_char_frac`` (0.01);
    * ``newline_word_ratio``: newline characters per word <= ``max_newline_word_ratio`` (0.3).

    None disables a rule. Score column ``fineweb_quality_failures``.
    """

    output_key = OutputColumn("fineweb_quality_failures", "int")
    rule_set_name = "fineweb_quality"

    def __init__(self, min_line_punct_ratio: float | None = 0.12, max_short_line_ratio: float | None = 0.67,
                 max_dup_line_char_frac: float | None = 0.01, max_newline_word_ratio: float | None = 0.3):
        super().__init__()
        self._rules = {
            "line_punct_ratio": (min_line_punct_ratio, None),
            "short_line_ratio": (None, max_short_line_ratio),
            "dup_line_char_frac": (None, max_dup_line_char_frac),
            "newline_word_ratio": (None, max_newline_word_ratio),
        }

    def rules(self) -> dict[str, tuple[float | None, float | None]]:
        return self._rules

    def values(self, stats: TextStats) -> dict[str, np.ndarray]:
        return {"line_punct_ratio": stats["line_punct_ratio"],
                "short_line_ratio": stats["short_line_ratio"],
                "dup_line_char_frac": stats.dup_line_char_frac,
                "newline_word_ratio": stats["newline_word_ratio"]}
