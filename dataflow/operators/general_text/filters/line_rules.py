"""Line-level heuristic filters of the reference DataFlow library (same names and defaults).

Lines are the non-blank lines of the text (``text.split("\\n")``), stripped for the tests below.
"""

from __future__ import annotations

import numpy as np

from dataflow.core.operator import OutputColumn
from dataflow.core.registry import register_operator
from dataflow.lib.text_stats import TextStats
from dataflow.operators.general_text.filters._base import StatRangeFilter


@register_operator
class ColonEndFilter(StatRangeFilter):
    """Drop texts that end with a colon (after trailing whitespace): usually a truncated list or prompt.

    Score column ``ends_with_colon`` (1 or 0). Empty texts are dropped, as in the reference.
    """

    output_key = OutputColumn("ends_with_colon", "int")
    score_name = "ends_with_colon"

    def __init__(self):
        super().__init__(max_value=0)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return np.fromiter((1 if not t.strip() or t.rstrip().endswith((":", "\uff1a")) else 0
                            for t in stats.texts), dtype=np.int64, count=len(stats))


@register_operator
class LineEndWithEllipsisFilter(StatRangeFilter):
    """Drop texts where more than ``threshold`` of the lines end with ``...`` or ``…`` (truncated teasers).

    Score column ``ellipsis_line_ratio``. Reference default: 0.3 (also the Gopher rule).
    """

    output_key = OutputColumn("ellipsis_line_ratio", "number")
    score_name = "ellipsis_line_ratio"

    def __init__(self, threshold: float = 0.3):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.ellipsis_line_ratio


@register_operator
class LineStartWithBulletpointFilter(StatRangeFilter):
    """Drop texts where more than ``threshold`` of the lines start with a bullet (menus, link lists).

    Bullets: ``• ‣ ▶ ◀ ◦ ■ □ ▪ ▫ – - * ·``. Score column ``bullet_line_ratio``. Reference default: 0.9.
    """

    output_key = OutputColumn("bullet_line_ratio", "number")
    score_name = "bullet_line_ratio"

    def __init__(self, threshold: float = 0.9):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats.bullet_line_ratio


@register_operator
class LineWithJavascriptFilter(StatRangeFilter):
    """Drop texts with more than 3 lines of which fewer than ``threshold`` do not mention "javascript".

    Catches "please enable JavaScript" boilerplate pages. Score column ``lines_without_javascript``;
    texts of at most 3 lines always pass (reference rule). Reference default: 3.
    """

    output_key = OutputColumn("lines_without_javascript", "int")
    score_name = "lines_without_javascript"

    def __init__(self, threshold: int = 3):
        super().__init__(min_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        without = stats["n_lines"] - stats["n_javascript_lines"]
        # Short texts pass whatever they say: report them at the bound so the range check keeps them.
        return np.where(stats["n_lines"] <= 3, np.maximum(without, self.min_value), without).astype(np.int64)


@register_operator
class NoPuncFilter(StatRangeFilter):
    """Drop texts with a run of more than ``threshold`` words without punctuation (``– . ! ? , ; • / | …``).

    Score column ``max_words_without_punct``. Reference default: 112.
    """

    output_key = OutputColumn("max_words_without_punct", "int")
    score_name = "max_words_without_punct"

    def __init__(self, threshold: int = 112):
        super().__init__(max_value=threshold)

    def statistic(self, stats: TextStats) -> np.ndarray:
        return stats["max_words_without_punct"].astype(np.int64)
