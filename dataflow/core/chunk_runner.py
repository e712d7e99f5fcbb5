"""Running steps on one chunk: row isolation, replay from the step cache, and the files a step leaves.

Within a segment only the segment's last step stores whole rows; the others store deltas (row ids and
the columns they wrote), which is enough to rebuild the chunk as it was after any step (``replay``) and
so to resume mid-segment, or to hand a chunk from one process to the next between steps.

Cheap steps are *deferred*: a run of consecutive steps in one task keeps the chunk in memory and writes
no delta for its cheap steps (their drops and rejects are still written at once); the next stored step
writes whole rows, then the markers of the deferred steps (``"stored": false``), then its own. A step is
stored when it is the last the task runs, uses a resource (an LLM answer must never be asked for twice),
changes rows, or when the deferred steps before it took ``DEFER_SECONDS`` or more on this chunk: so a
kill redoes at most that much cheap work per chunk in flight, and a run of 20 string operations writes
each chunk once instead of 20 times. Deferred markers without the stored marker after them (a kill
between the two) count as not done.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.bindings import DROP_REASON, REJECT_REASON, ROW_ID
from dataflow.core.cache import CacheLayout, atomic_json
from dataflow.core.context import ChunkMemo, StepContext
from dataflow.core.errors import StepError
from dataflow.core.fileio import read_frame, write_frame
from dataflow.core.operator import BatchResult, Operator

# seconds: wall time inside the serving (the step's LLM latency, summed over its batches)
LLM_FIELDS = ("requests", "cache_hits", "tokens_in", "tokens_out", "cost", "seconds")
# Compute seconds of deferred steps on one chunk after which the next step is stored (what a kill may redo).
DEFER_SECONDS = 1.0


# ============================================================================ isolating failing rows
def run_isolated(fn: Callable[[pd.DataFrame], BatchResult], frame: pd.DataFrame, label: str) -> BatchResult:
    """Run ``fn`` on ``frame``; if it raises, bisect to find the rows that fail and reject only those.

    When every row of the chunk fails (and there is more than one), the operator is broken rather than
    the data: raise :class:`StepError`.
    """
    try:
        return fn(frame)
    except Exception as exc:  # noqa: BLE001 - any failure of user logic is isolated to rows
        if len(frame) <= 1:
            return BatchResult(frame.iloc[:0], rejected=frame.assign(**{REJECT_REASON: _describe(exc)}))
        first_error = exc
    merged = _bisect(fn, frame)
    if merged.rejected is not None and len(merged.rejected) == len(frame):
        raise StepError(f"{label} failed on every row of a chunk: {_describe(first_error)}") from first_error
    return merged


def _bisect(fn: Callable[[pd.DataFrame], BatchResult], frame: pd.DataFrame) -> BatchResult:
    mid = len(frame) // 2
    parts = []
    for half in (frame.iloc[:mid], frame.iloc[mid:]):
        try:
            parts.append(fn(half))
        except Exception as exc:  # noqa: BLE001
            if len(half) <= 1:
                parts.append(BatchResult(half.iloc[:0], rejected=half.assign(**{REJECT_REASON: _describe(exc)})))
            else:
                parts.append(_bisect(fn, half))
    return merge_results(parts)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")


def merge_results(parts: list[BatchResult]) -> BatchResult:
    def cat(frames):
        frames = [f for f in frames if f is not None and len(f)]
        return pd.concat(frames) if frames else None

    frames = [p.frame for p in parts]
    written = list(dict.fromkeys(c for p in parts for c in p.written))
    frame = pd.concat(frames) if frames else pd.DataFrame()
    metrics = None
    for p in parts:
        if p.metrics:
            metrics = {**(metrics or {}), **p.metrics}
    return BatchResult(frame, written=written, dropped=cat([p.dropped for p in parts]),
                       rejected=cat([p.rejected for p in parts]),
                       rows_changed=any(p.rows_changed for p in parts), metrics=metrics)


def release_memory() -> None:
    """Hand freed heap back to the OS after a chunk: glibc keeps it otherwise, and a long run's resident
    memory would stay at the peak of its largest chunk in every worker."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def kept_mask(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Which rows of ``before`` survive in ``after`` (matched by row id; a set beats Arrow's ``isin``)."""
    kept = set(after[ROW_ID].tolist())
    return np.fromiter((r in kept for r in before[ROW_ID].tolist()), dtype=bool, count=len(before))


# ============================================================================ one step on one chunk
@dataclass
class ChunkStep:
    """A step as the chunk runner sees it: the operator object, its bindings and where its files go."""

    index: int
    name: str
    op: Operator
    bindings: Any
    step_dir: Path
    is_barrier: bool

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.name})"


def replay(layout: CacheLayout, input_path: Path, k: int, steps: list[ChunkStep], markers: list[dict]
           ) -> pd.DataFrame:
    """Rebuild chunk ``k`` as it was after ``steps`` from their cached results (the segment's input first)."""
    start = -1
    for j in range(len(steps) - 1, -1, -1):
        if markers[j].get("full"):
            start = j
            frame = read_frame(layout.step_file(steps[j].step_dir, k))
            break
    else:
        frame = read_frame(input_path)
    for j in range(start + 1, len(steps)):
        delta = read_frame(layout.step_file(steps[j].step_dir, k))
        if len(delta) != len(frame):
            frame = frame[kept_mask(frame, delta)]
        frame = frame.reset_index(drop=True)
        for c in markers[j].get("written", []):
            frame[c] = delta[c].to_numpy()
    return frame


@dataclass
class Deferred:
    """Markers of the steps run on a chunk since the last stored one (no files of their own yet)."""

    markers: list[tuple[int, Path, dict[str, Any]]]  # (step index, step directory, marker)
    seconds: float = 0.0


def run_step(layout: CacheLayout, step: ChunkStep, k: int, frame: pd.DataFrame, memo: ChunkMemo, *,
             full: bool, decision: Any, resources: Any, run_id: str, store: bool = True,
             deferred: Deferred | None = None) -> pd.DataFrame:
    """Run ``step`` on chunk ``k`` and store its result, drops, rejects and (last, atomically) its marker.

    With ``deferred`` (the steps run on this chunk since the last stored one), a cheap step that ``store``
    does not require is deferred: its drops and rejects are written, its marker joins ``deferred``. A
    stored step after deferred ones writes whole rows, then their markers, then its own."""
    op = step.op
    ctx = StepContext(step_index=step.index, op_name=step.name, cols=step.bindings, memo=memo,
                      chunk_index=k, op=op, resources=resources)
    before = _llm_snapshot(op, ctx)
    t0 = time.perf_counter()
    frame = frame.reset_index(drop=True)
    if step.is_barrier:
        result = run_isolated(lambda f: op.apply(f, decision, ctx), frame, step.label)
    else:
        result = run_isolated(lambda f: op.process(f, ctx), frame, step.label)
    seconds = time.perf_counter() - t0
    out = result.frame.reset_index(drop=True)
    # Keep the memo aligned with the rows that remain.
    if result.rows_changed:
        memo.invalidate(rows_changed=True)
    else:
        if len(out) != len(frame):
            memo.filter_rows(result.kept if result.kept is not None else kept_mask(frame, out))
        memo.invalidate(result.written)
    sdir = step.step_dir
    sdir.mkdir(parents=True, exist_ok=True)
    pending = deferred.markers if deferred is not None else []
    store = (store or deferred is None or result.rows_changed or bool(op.resources) or step.is_barrier
             or deferred.seconds + seconds >= DEFER_SECONDS)
    full = full or result.rows_changed or bool(pending)
    if store:
        stored = out if full else out[[ROW_ID, *[c for c in result.written if c in out.columns]]]
        write_frame(stored, layout.step_file(sdir, k))
    dropped: Counter = Counter()
    dropped_file = layout.step_file(sdir, k, "dropped")
    rejected_file = layout.step_file(sdir, k, "rejected")
    if result.dropped is not None and len(result.dropped):
        dropped.update(result.dropped[DROP_REASON].astype(str).tolist())
        write_frame(result.dropped.assign(_step=step.index), dropped_file)
    else:  # a killed earlier attempt may have left one
        dropped_file.unlink(missing_ok=True)
    n_rejected = 0
    if result.rejected is not None and len(result.rejected):
        n_rejected = len(result.rejected)
        write_frame(result.rejected.assign(_step=step.index), rejected_file)
    else:
        rejected_file.unlink(missing_ok=True)
    marker = {"chunk": k, "rows_in": len(frame), "rows_out": len(out), "dropped": dict(dropped),
              "rejected": n_rejected, "seconds": round(seconds, 6), "full": full and store,
              "written": result.written, "llm": _llm_delta(op, ctx, before), "run_id": run_id}
    if result.rows_changed:
        marker["rows_changed"] = True
    if result.metrics:
        marker["metrics"] = result.metrics
    if not store:
        assert deferred is not None
        marker["stored"] = False
        deferred.markers.append((step.index, sdir, marker))
        deferred.seconds += seconds
        return out
    for pending_step in pending:
        _commit_marker(layout, *pending_step)
    _commit_marker(layout, step.index, sdir, marker)
    if deferred is not None:
        deferred.markers, deferred.seconds = [], 0.0
    return out


def _commit_marker(layout: CacheLayout, index: int, step_dir: Path, marker: dict[str, Any]) -> None:
    atomic_json(layout.step_marker(step_dir, marker["chunk"]), marker)
    layout.emit("step_done", step=index, chunk=marker["chunk"],
                rows_in=marker["rows_in"], rows_out=marker["rows_out"], rejected=marker["rejected"],
                seconds=round(marker["seconds"], 4))


def _llm_snapshot(op: Operator, ctx: StepContext) -> dict[str, float] | None:
    if not op.uses("llm"):
        return None
    stats = getattr(ctx.serving, "stats", None)
    return {f: float(getattr(stats, f, 0) or 0) for f in LLM_FIELDS}


def _llm_delta(op: Operator, ctx: StepContext, before: dict[str, float] | None) -> dict[str, float]:
    if before is None:
        return {}
    after = _llm_snapshot(op, ctx) or {}
    return {f: after[f] - before[f] for f in LLM_FIELDS}
