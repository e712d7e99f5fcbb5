"""Run one operator on a few rows and see what it made of them: the helper for operator authors' tests.

:func:`run_operator` runs an operator eagerly, the way one step of a pipeline runs on one chunk (the same
failure isolation: a row that makes the operator raise is rejected with the exception as its reason, the
other rows go on), and returns an :class:`OperatorResult`::

    from dataflow.core.registry import OPERATORS
    from dataflow.testing import run_operator

    WordNumberFilter = OPERATORS.get("WordNumberFilter")
    result = run_operator(WordNumberFilter(min_words=3),
                          [{"text": "one two three"}, {"text": "too short"}], input_key="text")
    assert result.kept == [{"text": "one two three", "word_count": 3}]
    assert result.dropped == [{"text": "too short", "word_count": 2, "reason": "word_count < 3"}]
    assert result.drop_reasons == ["word_count < 3"] and result.written == ["word_count"]

What the result holds, with the internal columns (row ids, drop and reject reasons) kept out of the rows:

* ``kept`` / ``kept_frame``: the rows the operator passed on (plain Python values, missing values as None),
  as a list of dicts or a DataFrame; ``kept_ids`` their row ids (input rows are ``"1"``, ``"2"``, ...; the
  second row a generator made from row 2 is ``"2.1"``);
* ``dropped`` / ``dropped_frame``: the rows it removed, each with its ``reason``; ``drop_reasons``;
* ``rejected`` / ``rejected_frame``: the rows it could not process, each with its ``reason``;
  ``reject_reasons``;
* ``written``: the columns it says it wrote; ``metrics``: what a dataset-level operator reported;
* ``errors``: the exceptions it raised, which became rejected rows (the rows are retried in halves to
  find the failing ones, so one bad row can raise several times); none is expected on good rows.

Every kind runs, dataset-level operators included (one scan of all the rows, one decision, one apply).
Operators that use the LLM take ``serving=`` (any object with the serving's ``generate``; the operator's
own ``llm_serving`` wins), those that use the embedder take ``embedder=``; without one, the step's
default is built as in a pipeline. ``run_operator(op, [], input_key="text")`` runs on zero rows that
have the bound input columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dataflow.core.operator import DROP_REASON, REJECT_REASON, ROW_ID, Operator

__all__ = ["OperatorResult", "run_operator"]

# The pandas dtype of an empty input column, by the binding's declared dtype.
_EMPTY_DTYPES = {"number": "float64", "int": "int64", "bool": "bool"}
# The operator's hooks the eager runner calls; each is watched for the exceptions it raises.
_HOOKS = ("process", "scan", "decide", "apply")


@dataclass
class OperatorResult:
    """What one operator made of the rows given to :func:`run_operator` (see the module docstring)."""

    kept_frame: pd.DataFrame
    kept_ids: list[str]
    written: list[str]
    metrics: dict[str, Any]
    errors: list[Exception]
    _dropped: pd.DataFrame = field(repr=False)
    _rejected: pd.DataFrame = field(repr=False)

    @property
    def kept(self) -> list[dict[str, Any]]:
        return _records(self.kept_frame)

    @property
    def dropped(self) -> list[dict[str, Any]]:
        return _records(self.dropped_frame)

    @property
    def rejected(self) -> list[dict[str, Any]]:
        return _records(self.rejected_frame)

    @property
    def dropped_frame(self) -> pd.DataFrame:
        return _with_reason(self._dropped, DROP_REASON)

    @property
    def rejected_frame(self) -> pd.DataFrame:
        return _with_reason(self._rejected, REJECT_REASON)

    @property
    def drop_reasons(self) -> list[str]:
        return self._dropped[DROP_REASON].tolist()

    @property
    def reject_reasons(self) -> list[str]:
        return self._rejected[REJECT_REASON].tolist()


def run_operator(op: Operator, rows: list[dict[str, Any]] | pd.DataFrame, *, serving: Any = None,
                 embedder: Any = None, **bindings: Any) -> OperatorResult:
    """Run ``op`` on ``rows`` with the given column bindings (``input_key="text"``, ...) and return what it
    kept, dropped and rejected. Calls the operator's ``setup()`` before and ``teardown()`` after."""
    from dataflow.core.eager import DataFrameStorage, apply_op_to_frame

    resolved = op.resolve_bindings(bindings)
    frame = DataFrameStorage(_with_inputs(op, resolved, rows)).frame
    errors: list[Exception] = []
    op.setup()
    try:
        with _watched(op, errors):
            result = apply_op_to_frame(op, resolved, frame, serving=serving, embedder=embedder)
    finally:
        op.teardown()
    kept = result.frame.reset_index(drop=True)
    return OperatorResult(
        kept_frame=_public(kept), kept_ids=[str(i) for i in kept[ROW_ID].tolist()],
        written=list(result.written), metrics=dict(result.metrics or {}), errors=errors,
        _dropped=_removed(result.dropped, DROP_REASON), _rejected=_removed(result.rejected, REJECT_REASON))


def _with_inputs(op: Operator, bindings: Any, rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """``rows`` as a frame; with no rows, the columns the step reads are added (empty) so it can run."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
    missing = {name: decl for name, decl in op.input_columns(bindings).items() if name not in frame.columns}
    if missing and len(frame):
        names = ", ".join(f"'{name}'" for name in missing)
        raise ValueError(f"{op.op_name()} reads column(s) {names}, which the rows lack")
    for name, decl in missing.items():
        frame = frame.assign(**{name: pd.Series([], dtype=_EMPTY_DTYPES.get(decl.dtype, object))})
    return frame


@contextmanager
def _watched(op: Operator, errors: list[Exception]) -> Iterator[None]:
    """Record every exception the operator's hooks raise (the eager runner turns them into rejects); the
    instance is restored after."""
    patched = {}
    for name in _HOOKS:
        hook = getattr(op, name, None)
        if callable(hook):
            patched[name] = _recording(hook, errors)
    saved = {name: op.__dict__[name] for name in patched if name in op.__dict__}
    op.__dict__.update(patched)
    try:
        yield
    finally:
        for name in patched:
            op.__dict__.pop(name, None)
        op.__dict__.update(saved)


def _recording(hook: Any, errors: list[Exception]) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return hook(*args, **kwargs)
        except Exception as exc:
            errors.append(exc)
            raise

    return call


def _public(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a pipeline would write out (internal ones start with ``_``)."""
    return frame[[c for c in frame.columns if not str(c).startswith("_")]].reset_index(drop=True)


def _removed(frame: pd.DataFrame | None, reason_column: str) -> pd.DataFrame:
    if frame is None or not len(frame):
        return pd.DataFrame({reason_column: pd.Series([], dtype=object)})
    return frame.reset_index(drop=True)


def _with_reason(frame: pd.DataFrame, reason_column: str) -> pd.DataFrame:
    public = _public(frame)
    if "reason" in public.columns:
        raise ValueError("the rows have a column named 'reason'; read the reasons from drop_reasons / "
                         "reject_reasons instead")
    return public.assign(reason=frame[reason_column].to_numpy())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from dataflow.core.fileio import frame_to_records

    return frame_to_records(frame)
