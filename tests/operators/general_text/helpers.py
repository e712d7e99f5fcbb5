"""Small helpers to run one operator eagerly on hand-written rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dataflow.core.eager import DataFrameStorage


def run_op(op, texts, **bindings):
    """Run ``op`` on rows {"text": t}; return (kept frame, {text: drop reason})."""
    storage = DataFrameStorage([{"text": t} for t in texts])
    op.run(storage, **bindings)
    dropped = pd.concat(storage.dropped) if storage.dropped else pd.DataFrame(columns=["text", "_drop_reason"])
    return storage.frame, dict(zip(dropped["text"], dropped["_drop_reason"]))


def kept_texts(op, texts, **bindings):
    return run_op(op, texts, **bindings)[0]["text"].tolist()


def refine(op, texts):
    return kept_texts(op, texts)


HOTPOT_DEV = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "rag" / "hotpotqa_rpt" / "dev.jsonl"


def hotpot_paragraphs() -> list[str]:
    """The distinct Wikipedia paragraphs of the HotpotQA dev fixture (skips when it is absent)."""
    import json

    import pytest

    if not HOTPOT_DEV.exists():
        pytest.skip(f"fixture {HOTPOT_DEV} is absent (shared fixtures not mounted)")
    seen: dict[str, None] = {}
    with HOTPOT_DEV.open() as f:
        for line in f:
            for sentences in json.loads(line)["context"]["sentences"]:
                seen.setdefault("".join(sentences).strip(), None)
    return list(seen)
