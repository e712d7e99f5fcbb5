"""Credentials in code: drop the files holding them, or replace the secret values with a placeholder.

Both operators use :func:`dataflow.lib.code_secrets.find_secrets` (its module doc lists what counts as a
secret: token formats such as AWS, GitHub, Slack, OpenAI, Google and Stripe keys, private key blocks and
JWTs, and passwords or random-looking strings assigned to secret-like names, placeholders excepted).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataflow.core.operator import InputColumn, OutputColumn, Refiner
from dataflow.core.registry import register_operator
from dataflow.lib.code_secrets import find_secrets, redact_secrets
from dataflow.operators.code._base import CodeRuleFilter


def describe(secrets: list[Any]) -> str:
    """``"github_token (line 3), password (line 9)"``: kinds and lines, never the values."""
    return ", ".join(f"{s.kind} (line {s.line})" for s in secrets)


@register_operator
class CodeSecretFilter(CodeRuleFilter):
    """Drop files that contain credentials (API keys, tokens, private keys, hard-coded passwords).

    ``output_key`` (``secrets``) lists the kinds and lines found, e.g. ``"aws_access_key_id (line 4)"``
    (empty when none); the drop reason is ``secrets: <that list>``. The secret values themselves never
    appear in a column or a reason. ``min_entropy`` (bits per character, default 3.5) is how random a
    value assigned to a token- or key-like name must look to count. To keep such files with the values
    masked, use :class:`CodeSecretRedactor` instead.
    """

    input_key = InputColumn("code", "str", nullable=True)
    output_key = OutputColumn("secrets", "str")

    def __init__(self, min_entropy: float = 3.5) -> None:
        super().__init__()
        self.min_entropy = min_entropy

    def check(self, text: str) -> str:
        return describe(find_secrets(text, self.min_entropy))

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"output_key": self.problems(batch, ctx)}

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: Any) -> Any:
        found = scores["output_key"]
        return [not f for f in found], [f"secrets: {f}" if f else "" for f in found]


@register_operator
class CodeSecretRedactor(Refiner):
    """Replace every credential's value with a placeholder, keeping the code around it.

    ``replacement`` (default ``<REDACTED:{kind}>``, ``{kind}`` filled in) takes the place of the value
    only: ``api_key = "sk-..."`` becomes ``api_key = "<REDACTED:openai_key>"``, a PEM block becomes one
    placeholder. Rewrites ``input_key`` in place (or into ``output_key``); ``output_count_key``
    (optional, unbound by default) gets the number of values replaced. ``min_entropy`` as in
    :class:`CodeSecretFilter`.
    """

    input_key = InputColumn("code", "str", nullable=True)
    output_count_key = OutputColumn(None, "int", description="number of secrets replaced in the row")

    def __init__(self, replacement: str = "<REDACTED:{kind}>", min_entropy: float = 3.5) -> None:
        super().__init__()
        self.replacement, self.min_entropy = replacement, min_entropy

    def refine_rows(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        cols = ctx.cols
        texts, counts = [], []
        for value in batch[cols.input_key].tolist():
            if isinstance(value, str):
                value, secrets = redact_secrets(value, self.replacement, self.min_entropy)
                counts.append(len(secrets))
            else:
                counts.append(0)
            texts.append(value)
        out = {cols.output_key: pd.Series(texts, index=batch.index, dtype=object)}
        if cols.get("output_count_key"):
            out[cols.output_count_key] = counts
        return out
