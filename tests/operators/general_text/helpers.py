"""Small helpers to run one operator eagerly on hand-written rows."""

from __future__ import annotations

import pandas as pd

from dataflow.core.storage import DataFrameStorage


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
