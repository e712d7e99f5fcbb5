"""Pulling fields out of JSON text (an LLM's answer, a raw API dump) into columns."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from dataflow.core.operator import REJECT_REASON, BatchResult, Generator, InputColumn
from dataflow.core.registry import register_operator

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json_text(text: Any) -> Any:
    """A dict/list as is; else the JSON in ``text`` (inside a ```json fence, or the outermost {...}/[...])."""
    if isinstance(text, (dict, list)):
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected JSON text, got {type(text).__name__}")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start:end + 1])
    for cand in candidates:
        try:
            return json.loads(cand.strip())
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON value found")


def get_path(value: Any, path: str) -> Any:
    """``a.b.0.c`` into nested dicts and lists; KeyError names the missing part."""
    for part in path.split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(f"no '{part}' in {path!r}")
    return value


@register_operator
class JsonFieldExtractor(Generator):
    """Parses JSON from ``input_key`` and writes chosen fields to columns.

    ``fields`` maps output column -> path (``{"score": "eval.score", "first_tag": "tags.0"}``). The text
    may hold the JSON inside a markdown fence or surrounded by prose. Rows without parseable JSON, or
    lacking a field listed in ``required``, go to the rejects with the reason; optional missing fields
    become null.
    """

    input_key = InputColumn("generated_content", "any")
    example_params = {"fields": {"score": "eval.score"}}

    def __init__(self, fields: dict[str, str], required: list[str] | None = None) -> None:
        super().__init__()
        if not fields:
            raise ValueError("fields must name at least one output column")
        self.fields = dict(fields)
        self.required = list(self.fields) if required is None else list(required)

    def output_columns(self, bindings) -> list[str]:
        return list(self.fields)

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        out: dict[str, list[Any]] = {c: [] for c in self.fields}
        ok, bad, reasons = [], [], []
        for i, text in enumerate(batch[ctx.cols.input_key].tolist()):
            try:
                value = parse_json_text(text)
                row = {}
                for col, path in self.fields.items():
                    try:
                        row[col] = get_path(value, path)
                    except (KeyError, IndexError, TypeError) as exc:
                        if col in self.required:
                            raise KeyError(exc.args[0] if exc.args else str(exc)) from None
                        row[col] = None
            except (ValueError, KeyError) as exc:
                bad.append(i)
                reasons.append(f"{type(exc).__name__}: {exc.args[0] if exc.args else exc}")
                continue
            ok.append(i)
            for col in self.fields:
                out[col].append(row[col])
        kept = batch.iloc[ok].assign(**out)
        rejected = batch.iloc[bad].assign(**{REJECT_REASON: reasons}) if bad else None
        return BatchResult(kept, written=list(self.fields), rejected=rejected)
