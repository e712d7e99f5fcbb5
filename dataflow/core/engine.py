"""The execution engine: ingest, streamed segments, the per-chunk step cache, resume and the run summary.

Layout of a cache directory::

    ingest/<fp>/chunk-00007.parquet   validated input rows of chunk 7 (+ .rejects.jsonl, .json marker)
    steps/03-WordNumberFilter/<fp>/chunk-00007.parquet          the step's output for chunk 7
                                  /chunk-00007.dropped.parquet  rows it removed, with the reason
                                  /chunk-00007.rejected.parquet rows it could not process, with the reason
                                  /chunk-00007.json             completion marker and statistics
    run.json, rejects.jsonl

A marker is written last and atomically, so a chunk either has a complete result or is recomputed. Within
a segment only the last step stores whole rows; the others store deltas (row ids and the columns they
wrote), which is enough to resume mid-segment and to recompute from the first changed step.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.context import ChunkMemo, StepContext
from dataflow.core.errors import BadInputError, StepError
from dataflow.core.operator import DROP_REASON, REJECT_REASON, ROW_ID, BatchResult, Bindings, Operator
from dataflow.core.plan import CompiledPlan, Segment, Step
from dataflow.core.storage import (
    bad_input_error,
    check_record,
    detect_format,
    frame_to_records,
    iter_records,
    read_frame,
    records_to_frame,
    row_unit,
    write_chunks,
    write_frame,
)

LLM_FIELDS = ("requests", "cache_hits", "tokens_in", "tokens_out", "cost")


# ============================================================================ running one operator
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


def _kept_mask(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Which rows of ``before`` survive in ``after`` (matched by row id; a set beats Arrow's ``isin``)."""
    kept = set(after[ROW_ID].tolist())
    return np.fromiter((r in kept for r in before[ROW_ID].tolist()), dtype=bool, count=len(before))


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


def apply_op_to_frame(op: Operator, bindings: dict[str, Any], frame: pd.DataFrame, *, serving: Any = None
                      ) -> BatchResult:
    """Run one operator over a whole in-memory frame (eager mode, see ``DataFrameStorage``)."""
    if ROW_ID not in frame.columns:
        frame = frame.assign(**{ROW_ID: [str(i) for i in range(1, len(frame) + 1)]})
    cols = bindings if isinstance(bindings, Bindings) else Bindings(bindings)
    factory = (lambda: serving) if serving is not None else None
    ctx = StepContext(step_index=1, op_name=op.op_name(), cols=cols, serving_factory=factory, op=op)
    label = op.op_name()
    if op.granularity == "dataset":
        decision = op.decide([op.scan(frame, ctx)])
        return run_isolated(lambda f: op.apply(f, decision, ctx), frame, label)
    return run_isolated(lambda f: op.process(f, ctx), frame, label)


# ============================================================================ cache paths and markers
def _atomic_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, default=str))
    os.replace(tmp, path)


def _chunk(k: int) -> str:
    return f"chunk-{k:05d}"


@dataclass
class StepStats:
    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    rejected: int = 0
    seconds: float = 0.0
    cached_chunks: int = 0
    llm: Counter = field(default_factory=Counter)
    metrics: dict[str, Any] | None = None


class Engine:
    """Runs a compiled plan over an input, chunk by chunk, through an executor."""

    def __init__(self, plan: CompiledPlan, *, input_path: str | Path, output_path: str | Path | None,
                 cache_dir: str | Path, chunk_size: int, chunk_bytes: int = 8 << 20, on_bad_input: str = "error",
                 serving_factory: Callable[[], Any] | None = None,
                 embedder_factory: Callable[[], Any] | None = None, executor: Any = None,
                 progress: bool | None = None, config: dict[str, Any] | None = None) -> None:
        self.plan = plan
        self.input_path = Path(input_path)
        self.input_format = detect_format(self.input_path)
        self.output_path = Path(output_path) if output_path else None
        self.cache_dir = Path(cache_dir)
        self.chunk_size = int(chunk_size)
        self.chunk_bytes = int(chunk_bytes)
        self.on_bad_input = on_bad_input
        self.serving_factory = serving_factory
        self.embedder_factory = embedder_factory
        self.executor = executor
        self.progress = progress
        self.config = config or {}
        self.ingest_dir = self.cache_dir / "ingest" / plan.input_fingerprint
        self._progress: Any = None  # a queue of finished step indices, read by the progress bars
        # Markers carry the id of the run that computed them: run.json counts time and LLM calls of this
        # run only, so a re-run served from the cache reports zero backend calls.
        import uuid

        self.run_id = uuid.uuid4().hex

    # ------------------------------------------------------------------ paths
    def step_dir(self, step: Step) -> Path:
        return self.cache_dir / "steps" / f"{step.index:02d}-{step.name}" / step.fingerprint

    def marker(self, step: Step, k: int) -> Path:
        return self.step_dir(step) / f"{_chunk(k)}.json"

    def read_marker(self, step: Step, k: int) -> dict[str, Any] | None:
        path = self.marker(step, k)
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # ------------------------------------------------------------------ ingest
    def ingest(self) -> int:
        """Validate the input and split it into parquet chunks; returns the number of chunks.

        A chunk closes at ``chunk_size`` records or ``chunk_bytes`` of input, whichever comes first, so
        memory stays bounded for long documents too. Each chunk's marker records the input records it
        covers, so an interrupted ingest continues exactly after the last complete chunk.
        """
        done = self.ingest_dir / "done.json"
        if done.exists():
            return json.loads(done.read_text())["chunks"]
        self.ingest_dir.mkdir(parents=True, exist_ok=True)
        k, start = 0, 0
        while (marker := self.ingest_dir / f"{_chunk(k)}.json").exists():
            start = json.loads(marker.read_text())["end"]
            k += 1
        required = self.plan.required
        unit = row_unit(self.input_format)
        records: list[dict[str, Any]] = []
        row_ids: list[str] = []
        rejects: list[dict[str, Any]] = []
        seen = size = 0
        for raw in iter_records(self.input_path, self.input_format, start=start):
            seen += 1
            size += raw.size
            problem = None
            if raw.record is None:
                problem = (None, raw.error or "unreadable")
            else:
                bad = check_record(raw.record, required)
                if bad:
                    problem = bad
            if problem is not None:
                err = bad_input_error(str(self.input_path), self.input_format, raw, problem[0], problem[1])
                if self.on_bad_input != "skip":
                    raise err
                rejects.append({"step": 0, "op": "input", "source": str(self.input_path), unit: raw.number,
                                "column": problem[0], "reason": err.reason, "error": str(err),
                                "raw": raw.raw if raw.record is None else raw.record})
            else:
                records.append(raw.record)
                row_ids.append(str(raw.number))
            if seen == self.chunk_size or size >= self.chunk_bytes:
                start += seen
                self._write_ingest_chunk(k, records, row_ids, rejects, end=start)
                k, seen, size, records, row_ids, rejects = k + 1, 0, 0, [], [], []
        if seen or k == 0:
            self._write_ingest_chunk(k, records, row_ids, rejects, end=start + seen)
            k += 1
        _atomic_json(done, {"chunks": k})
        return k

    def _write_ingest_chunk(self, k: int, records: list, row_ids: list, rejects: list, *, end: int) -> None:
        frame = records_to_frame(records, row_ids)
        for name in self.plan.required:  # a chunk with no valid rows still has the columns steps read
            if name not in frame.columns:
                frame[name] = pd.Series([], dtype=object)
        write_frame(frame, self.ingest_dir / f"{_chunk(k)}.parquet")
        if rejects:
            tmp = self.ingest_dir / f".{_chunk(k)}.rejects.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                for r in rejects:
                    fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            os.replace(tmp, self.ingest_dir / f"{_chunk(k)}.rejects.jsonl")
        _atomic_json(self.ingest_dir / f"{_chunk(k)}.json",
                     {"rows": len(frame), "rejected": len(rejects), "end": end})
        del frame
        release_memory()

    # ------------------------------------------------------------------ chunk frames
    def segment_input(self, segment: Segment, k: int) -> pd.DataFrame:
        if segment.index == 0:
            return read_frame(self.ingest_dir / f"{_chunk(k)}.parquet")
        prev = self.plan.segments[segment.index - 1].steps[-1]
        return read_frame(self.step_dir(prev) / f"{_chunk(k)}.parquet")

    def final_frame(self, k: int) -> pd.DataFrame:
        if not self.plan.steps:
            return read_frame(self.ingest_dir / f"{_chunk(k)}.parquet")
        last = self.plan.steps[-1]
        return read_frame(self.step_dir(last) / f"{_chunk(k)}.parquet")

    # ------------------------------------------------------------------ one chunk of one segment
    def run_segment_chunk(self, segment: Segment, k: int, decision: Any = None) -> bool:
        """Bring chunk ``k`` through every step of ``segment``; returns False if all was cached."""
        steps = segment.steps
        markers = [self.read_marker(s, k) for s in steps]
        done = 0
        while done < len(steps) and markers[done] is not None:
            done += 1
        if done == len(steps):
            return False
        frame = self._replay(segment, k, steps[:done], markers[:done])
        memo = ChunkMemo()
        for j in range(done, len(steps)):
            frame = self._run_step(steps[j], k, frame, memo, is_last=j == len(steps) - 1, decision=decision)
        del frame, memo
        release_memory()
        return True

    def _replay(self, segment: Segment, k: int, steps: list[Step], markers: list[dict]) -> pd.DataFrame:
        """Rebuild the chunk as it was after ``steps`` from their cached results."""
        start = 0
        for j in range(len(steps) - 1, -1, -1):
            if markers[j].get("full"):
                start = j
                frame = read_frame(self.step_dir(steps[j]) / f"{_chunk(k)}.parquet")
                break
        else:
            frame = self.segment_input(segment, k)
            start = -1
        for j in range(start + 1, len(steps)):
            delta = read_frame(self.step_dir(steps[j]) / f"{_chunk(k)}.parquet")
            if len(delta) != len(frame):
                frame = frame[_kept_mask(frame, delta)]
            frame = frame.reset_index(drop=True)
            for c in markers[j].get("written", []):
                frame[c] = delta[c].to_numpy()
        return frame

    def _run_step(self, step: Step, k: int, frame: pd.DataFrame, memo: ChunkMemo, *, is_last: bool,
                  decision: Any) -> pd.DataFrame:
        op = step.op
        ctx = StepContext(step_index=step.index, op_name=step.name, cols=step.bindings, memo=memo,
                          serving_factory=self.serving_factory if op.uses("llm") else None,
                          embedder_factory=self.embedder_factory, chunk_index=k, op=op)
        before = self._llm_snapshot(op, ctx)
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
                memo.filter_rows(result.kept if result.kept is not None else _kept_mask(frame, out))
            memo.invalidate(result.written)
        sdir = self.step_dir(step)
        sdir.mkdir(parents=True, exist_ok=True)
        full = is_last or result.rows_changed
        stored = out if full else out[[ROW_ID, *[c for c in result.written if c in out.columns]]]
        write_frame(stored, sdir / f"{_chunk(k)}.parquet")
        dropped: Counter = Counter()
        dropped_file = sdir / f"{_chunk(k)}.dropped.parquet"
        rejected_file = sdir / f"{_chunk(k)}.rejected.parquet"
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
                  "rejected": n_rejected, "seconds": round(seconds, 6), "full": full,
                  "written": result.written, "llm": self._llm_delta(op, ctx, before), "run_id": self.run_id}
        if result.metrics:
            marker["metrics"] = result.metrics
        _atomic_json(self.marker(step, k), marker)
        if self._progress is not None:
            self._progress.put(step.index)
        return out

    def _llm_snapshot(self, op: Operator, ctx: StepContext) -> dict[str, float] | None:
        if not op.uses("llm"):
            return None
        stats = ctx.serving.stats
        return {f: float(getattr(stats, f, 0) or 0) for f in LLM_FIELDS}

    def _llm_delta(self, op: Operator, ctx: StepContext, before: dict[str, float] | None) -> dict[str, float]:
        if before is None:
            return {}
        after = self._llm_snapshot(op, ctx) or {}
        return {f: after[f] - before[f] for f in LLM_FIELDS}

    # ------------------------------------------------------------------ barriers
    def scan_chunk(self, segment: Segment, k: int) -> Any:
        step = segment.barrier
        assert step is not None
        path = self.step_dir(step) / f"scan-{k:05d}.pkl"
        if path.exists():
            with open(path, "rb") as fh:
                return pickle.load(fh)
        frame = self.segment_input(segment, k)
        ctx = StepContext(step_index=step.index, op_name=step.name, cols=step.bindings, chunk_index=k,
                          op=step.op, serving_factory=self.serving_factory if step.op.uses("llm") else None,
                          embedder_factory=self.embedder_factory)
        t0 = time.perf_counter()
        state = (step.op.scan(frame, ctx), time.perf_counter() - t0)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return state

    def decide(self, segment: Segment, n_chunks: int) -> Any:
        step = segment.barrier
        assert step is not None
        path = self.step_dir(step) / "decision.pkl"
        if path.exists():
            with open(path, "rb") as fh:
                return pickle.load(fh)
        scanned = list(self.executor.map(_scan_task, [(segment.index, k) for k in range(n_chunks)], self,
                                         in_process=segment.uses_llm))
        t0 = time.perf_counter()
        decision = step.op.decide([state for state, _ in scanned])
        timing = {"scan_seconds": round(sum(sec for _, sec in scanned), 6),
                  "decide_seconds": round(time.perf_counter() - t0, 6), "run_id": self.run_id}
        _atomic_json(self.step_dir(step) / "barrier.json", timing)
        tmp = path.with_name(f".decision.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(decision, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return decision

    # ------------------------------------------------------------------ the whole run
    def run(self) -> dict[str, Any]:
        started = time.time()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        n_chunks = self.ingest()
        self.decisions: dict[int, Any] = {}
        done_before = sum(self.read_marker(self.plan.steps[-1], k) is not None for k in range(n_chunks)) \
            if self.plan.steps else n_chunks
        self.resumed_chunks = done_before
        with StepProgress(self, n_chunks) as progress:
            for segment in self.plan.segments:
                if segment.barrier is not None:
                    self.decisions[segment.index] = self.decide(segment, n_chunks)
                todo = [k for k in range(n_chunks) if self.read_marker(segment.steps[-1], k) is None]
                progress.start_segment(segment, n_chunks - len(todo))
                for _ in self.executor.map(_segment_task, [(segment.index, k) for k in todo], self,
                                           in_process=segment.uses_llm):
                    pass
        rows_out = self.write_output(n_chunks)
        rejects_path, n_rejects = self.write_rejects(n_chunks)
        summary = self.summarize(n_chunks, started, rows_out, rejects_path, n_rejects)
        summary["resumed_chunks"] = done_before
        _atomic_json(self.cache_dir / "run.json", summary)
        self.prune()
        return summary

    def write_output(self, n_chunks: int) -> int:
        if self.output_path is None:
            return sum(len(self.final_frame(k)) for k in range(n_chunks))
        return write_chunks(self.output_path, [self._final_path(k) for k in range(n_chunks)])

    def _final_path(self, k: int) -> Path:
        if not self.plan.steps:
            return self.ingest_dir / f"{_chunk(k)}.parquet"
        return self.step_dir(self.plan.steps[-1]) / f"{_chunk(k)}.parquet"

    def write_rejects(self, n_chunks: int) -> tuple[Path, int]:
        path = self.cache_dir / "rejects.jsonl"
        tmp = path.with_name(".rejects.jsonl.tmp")
        count = 0
        with open(tmp, "w", encoding="utf-8") as fh:
            for k in range(n_chunks):
                ingest_rejects = self.ingest_dir / f"{_chunk(k)}.rejects.jsonl"
                if ingest_rejects.exists():
                    for line in ingest_rejects.read_text(encoding="utf-8").splitlines():
                        fh.write(line + "\n")
                        count += 1
            for step in self.plan.steps:
                for k in range(n_chunks):
                    file = self.step_dir(step) / f"{_chunk(k)}.rejected.parquet"
                    if not file.exists():
                        continue
                    frame = read_frame(file)
                    for rec in frame_to_records(frame, internal=True):
                        entry = {"step": step.index, "op": step.name, "row_id": rec.pop(ROW_ID, None),
                                 "reason": rec.pop(REJECT_REASON, None)}
                        rec.pop("_step", None)
                        entry["record"] = rec
                        fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                        count += 1
        os.replace(tmp, path)
        return path, count

    def summarize(self, n_chunks: int, started: float, rows_out: int, rejects_path: Path, n_rejects: int
                  ) -> dict[str, Any]:
        ingest = [json.loads((self.ingest_dir / f"{_chunk(k)}.json").read_text()) for k in range(n_chunks)]
        ingest_rows = sum(m["rows"] for m in ingest)
        input_rejects = sum(m["rejected"] for m in ingest)
        steps = []
        for step in self.plan.steps:
            st = StepStats()
            for k in range(n_chunks):
                m = self.read_marker(step, k) or {}
                st.rows_in += m.get("rows_in", 0)
                st.rows_out += m.get("rows_out", 0)
                st.dropped.update(m.get("dropped", {}))
                st.rejected += m.get("rejected", 0)
                if m.get("run_id") == self.run_id:
                    st.seconds += m.get("seconds", 0.0)
                    st.llm.update(m.get("llm", {}))
                else:
                    st.cached_chunks += 1
                if m.get("metrics"):
                    st.metrics = m["metrics"]
            entry = {
                "index": step.index, "op": step.name, "rows_in": st.rows_in, "rows_out": st.rows_out,
                "dropped": dict(st.dropped), "rejected": st.rejected, "seconds": round(st.seconds, 4),
                "cached_chunks": st.cached_chunks,
                "llm_requests": int(st.llm.get("requests", 0)), "llm_cache_hits": int(st.llm.get("cache_hits", 0)),
                "tokens_in": int(st.llm.get("tokens_in", 0)), "tokens_out": int(st.llm.get("tokens_out", 0)),
                "fingerprint": step.fingerprint,
            }
            if st.llm.get("cost"):
                entry["cost"] = round(st.llm["cost"], 6)
            if step.is_barrier:
                # The whole-dataset passes count towards the step: scanning every chunk, then deciding.
                barrier = self.step_dir(step) / "barrier.json"
                if barrier.exists():
                    timing = json.loads(barrier.read_text())
                    if timing.pop("run_id", None) == self.run_id:
                        entry["seconds"] = round(st.seconds + timing["scan_seconds"] + timing["decide_seconds"], 4)
                        entry.update(timing)
                decision = getattr(self, "decisions", {}).get(self._segment_of(step))
                if isinstance(decision, dict) and "metrics" in decision:
                    st.metrics = decision["metrics"]
            if st.metrics:
                entry["metrics"] = st.metrics
            steps.append(entry)
        totals = {
            "rows_in": ingest_rows + input_rejects, "rows_out": rows_out, "input_rejected": input_rejects,
            "dropped": sum(sum(s["dropped"].values()) for s in steps),
            "rejected": n_rejects, "seconds": round(time.time() - started, 3),
            "step_seconds": round(sum(s["seconds"] for s in steps), 3),
            **{k: sum(s[k] for s in steps) for k in ("llm_requests", "llm_cache_hits", "tokens_in", "tokens_out")},
        }
        costs = [s["cost"] for s in steps if "cost" in s]
        if costs:
            totals["cost"] = round(sum(costs), 6)
        return {
            "status": "completed",
            "input": str(self.input_path), "output": str(self.output_path) if self.output_path else None,
            "cache_dir": str(self.cache_dir), "rejects": str(rejects_path), "chunks": n_chunks,
            "chunk_size": self.chunk_size, "chunk_bytes": self.chunk_bytes, "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            "steps": steps, "totals": totals, "config": self.config, "versions": package_versions(),
            "executor": getattr(self.executor, "name", "local"),
        }

    def _segment_of(self, step: Step) -> int | None:
        for seg in self.plan.segments:
            if step in seg.steps:
                return seg.index
        return None

    def prune(self) -> None:
        """Remove cached results of older fingerprints of the same steps, so the cache does not grow."""
        for step in self.plan.steps:
            parent = self.step_dir(step).parent
            for other in parent.iterdir() if parent.exists() else ():
                if other.is_dir() and other.name != step.fingerprint:
                    shutil.rmtree(other, ignore_errors=True)
        ingest_root = self.cache_dir / "ingest"
        for other in ingest_root.iterdir() if ingest_root.exists() else ():
            if other.is_dir() and other.name != self.plan.input_fingerprint:
                shutil.rmtree(other, ignore_errors=True)


class StepProgress:
    """One progress bar per step, advanced as workers finish that step on a chunk.

    Workers report through a queue inherited at fork time; bars are shown only on a terminal (or when
    asked for) and only for runs of more than one chunk.
    """

    def __init__(self, engine: Engine, n_chunks: int) -> None:
        self.engine, self.n_chunks = engine, n_chunks
        self.bars: dict[int, Any] = {}
        enabled = engine.progress if engine.progress is not None else _is_terminal()
        self.enabled = bool(enabled) and n_chunks > 1 and bool(engine.plan.steps)

    def __enter__(self) -> StepProgress:
        if self.enabled:
            import multiprocessing
            import threading

            self.engine._progress = multiprocessing.get_context("fork").SimpleQueue()
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        queue = self.engine._progress
        while True:
            index = queue.get()
            if index is None:
                return
            bar = self.bars.get(index)
            if bar is not None:
                bar.update(1)

    def start_segment(self, segment: Segment, already_done: int) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self.close_bars()
        for step in segment.steps:
            self.bars[step.index] = tqdm(total=self.n_chunks, initial=already_done, unit="chunk",
                                         desc=f"{step.index:>2} {step.name}", leave=False)

    def close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.engine._progress.put(None)
            self._reader.join(timeout=5)
            self.close_bars()
            self.engine._progress = None


def _is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


# Tasks handed to executors: module-level so any executor (fork pool, Ray) can run them.
def _segment_task(engine: Engine, item: tuple[int, int]) -> bool:
    seg_index, k = item
    segment = engine.plan.segments[seg_index]
    decision = getattr(engine, "decisions", {}).get(seg_index)
    return engine.run_segment_chunk(segment, k, decision)


def _scan_task(engine: Engine, item: tuple[int, int]) -> Any:
    seg_index, k = item
    return engine.scan_chunk(engine.plan.segments[seg_index], k)


def package_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("dataflow", "pandas", "pyarrow", "numpy", "pydantic", "llama-cpp-python"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


__all__ = ["Engine", "BadInputError", "apply_op_to_frame", "run_isolated"]
