"""The engine: drives a compiled plan over an input, segment by segment, through an executor.

It ingests the input into chunks (:mod:`~dataflow.core.ingest`), turns every segment into small chunk
tasks (:mod:`~dataflow.core.tasks`) and hands them to the executor, runs the two passes of each barrier
(scan every chunk, then decide once), and finally gathers the output, the rejects and the summary
(:mod:`~dataflow.core.results`, :mod:`~dataflow.core.summary`). Where files live is
:mod:`~dataflow.core.cache`'s business; what happens to one chunk is :mod:`~dataflow.core.chunk_runner`'s.

**Placement.** A segment is cut into groups of consecutive steps that run in the same place: steps
that use a resource the executor does not place (with the local pool: the LLM serving, the embedder) or
an operator no worker can rebuild run in the driver, the rest in the executor's workers. When a segment
mixes both, several chunks are in flight at once: while one chunk waits on the LLM in the driver, the
workers run the rule filters of the others, so the cores stay busy during requests. Driver groups run one
at a time in chunk order (one chunk's batch at a time reaches the model, as when the step runs alone).
"""

from __future__ import annotations

import heapq
import pickle
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from dataflow.core.cache import CacheLayout, atomic_json, dump_pickle, load_pickle, read_json
from dataflow.core.errors import BadInputError
from dataflow.core.executor import Executor, SerialExecutor
from dataflow.core.fileio import detect_format
from dataflow.core.ingest import JsonlPart, finish_parts, ingest, jsonl_parts
from dataflow.core.plan import CompiledPlan, Segment, Step
from dataflow.core.resources import ResourceSpec, resource_kind
from dataflow.core.results import OutputStream, write_rejects
from dataflow.core.summary import build_summary
from dataflow.core.tasks import (
    USER_OPS_PACKAGE,
    ChunkTask,
    IngestTask,
    ScanTask,
    StepRef,
    register_local_operator,
    run_chunk_task,
    run_ingest_task,
    run_scan_task,
    teardown_worker,
)


def step_ref(step: Step) -> StepRef:
    """The picklable description of a step; ``portable`` says whether a worker can rebuild it."""
    op = step.op
    cls = type(op)
    portable = "<locals>" not in cls.__qualname__ and cls.__module__ != "__main__"
    forkable = True
    for kind in op.resources:  # an operator built with its own instance (llm_serving=...) stays here
        param = resource_kind(kind).param
        if param and getattr(op, param, None) is not None:
            portable = forkable = False
    params = op.params
    if portable:
        try:
            pickle.dumps(params)
        except Exception:  # noqa: BLE001 - unpicklable params: build it nowhere else
            portable = False
    module = cls.__module__
    if module.startswith(USER_OPS_PACKAGE):  # an operator file named in a spec: a worker loads the same file
        module = getattr(sys.modules.get(module), "__file__", None) or module
    return StepRef(step.index, step.name, f"{module}:{cls.__qualname__}", params if portable else {},
                   dict(step.bindings), step.fingerprint, tuple(op.resources), step.is_barrier, portable,
                   forkable, op.cost)


class Engine:
    """Runs a compiled plan over an input, chunk by chunk, through an executor."""

    def __init__(self, plan: CompiledPlan, *, input_path: str | Path, output_path: str | Path | None,
                 cache_dir: str | Path, chunk_size: int, chunk_bytes: int = 8 << 20, on_bad_input: str = "error",
                 resources: dict[str, ResourceSpec] | None = None, executor: Executor | None = None,
                 progress: bool | None = None, config: dict[str, Any] | None = None) -> None:
        self.plan = plan
        self.input_path = Path(input_path)
        self.input_format = detect_format(self.input_path)
        self.output_path = Path(output_path) if output_path else None
        self.layout = CacheLayout(cache_dir, plan.input_fingerprint)
        self.chunk_size = int(chunk_size)
        self.chunk_bytes = int(chunk_bytes)
        self.on_bad_input = on_bad_input
        self.resources = dict(resources or {})
        self.executor = executor or SerialExecutor()
        self.progress = progress
        self.config = config or {}
        self.refs = [step_ref(s) for s in plan.steps]
        # jsonl and json outputs are encoded by the workers that finish the chunks (see OutputStream)
        try:
            self.encodes_output = self.output_path is not None and detect_format(self.output_path) in ("jsonl", "json")
        except ValueError:  # an unknown output format: reported when the output is written
            self.encodes_output = False
        # Markers carry the id of the run that computed them: run.json counts time and LLM calls of this
        # run only, so a re-run served from the cache reports zero backend calls.
        self.run_id = uuid.uuid4().hex

    # ------------------------------------------------------------------ placement
    def _in_driver(self, ref: StepRef) -> bool:
        # An operator defined in the user's script (or with a lambda among its params) cannot be rebuilt
        # elsewhere, but a worker forked from the driver holds the driver's own object already.
        if not ref.portable and not (ref.forkable and self.executor.forks_driver):
            return True
        if not ref.resources:
            return False
        if not self.executor.runs_resources:
            return True
        return any(not self.resources.get(kind, ResourceSpec(kind)).portable for kind in ref.resources)

    def _placement(self, ref: StepRef) -> tuple[bool, tuple[str, ...]]:
        """(in the driver, the resources it holds in the workers): an executor that runs resources
        gives resource steps their own workers (actor pools), so they are a group of their own."""
        if self._in_driver(ref):
            return True, ()
        return False, tuple(sorted(ref.resources))

    def _groups(self, segment: Segment) -> list[tuple[int, bool]]:
        """(stop, in_driver) of each run of consecutive steps placed alike, in order."""
        refs = self._segment_refs(segment)
        groups: list[tuple[int, bool]] = []
        last = None
        for j, ref in enumerate(refs):
            place = self._placement(ref)
            if groups and place == last:
                groups[-1] = (j + 1, place[0])
            else:
                groups.append((j + 1, place[0]))
            last = place
        return groups

    def _segment_refs(self, segment: Segment) -> tuple[StepRef, ...]:
        return tuple(self.refs[s.index - 1] for s in segment.steps)

    def _input_dir(self, segment: Segment) -> str | None:
        if segment.index == 0:
            return None
        last = self.refs[self.plan.segments[segment.index - 1].steps[-1].index - 1]
        return str(self.layout.step_dir(last.index, last.name, last.fingerprint))

    def _specs(self, ref: StepRef) -> dict[str, ResourceSpec]:
        return {kind: self.resources[kind] for kind in ref.resources if kind in self.resources}

    # ------------------------------------------------------------------ the whole run
    def run(self) -> dict[str, Any]:
        started = time.time()
        self.layout.root.mkdir(parents=True, exist_ok=True)
        for step, ref in zip(self.plan.steps, self.refs):
            register_local_operator(ref, step.op)
        if not all(self._in_driver(ref) for ref in self.refs):  # no workers for a run held in the driver
            # Chunks are parquet files: import its reader before forking, so every worker shares the
            # module instead of importing it on its first chunk (~0.15 s each, and a run's critical path).
            import pyarrow.parquet  # noqa: F401

            self.executor.start()  # before any model loads, so the first workers never hold a copy of one
        try:
            return self._run(started)
        finally:
            self.executor.close()
            teardown_worker()
            # Output parts not appended yet (a failed run): the next run encodes its chunks again.
            shutil.rmtree(self.layout.output_parts(self.run_id), ignore_errors=True)

    def _run(self, started: float) -> dict[str, Any]:
        layout = self.layout
        layout.emit("run_started", run_id=self.run_id, steps=[{"index": r.index, "op": r.name} for r in self.refs])
        events_offset = layout.events.stat().st_size if layout.events.exists() else 0
        segments = self.plan.segments
        # The first segment's chunk tasks start as ingest writes their chunks (when they can: see
        # _streams_from_ingest), so the workers process while the driver still reads the input.
        early: dict[int, Future] = {}
        on_chunk = None
        if segments and self._streams_from_ingest(segments[0]):
            first_refs = self._segment_refs(segments[0])
            first_end = first_refs[-1]
            first_end_dir = layout.step_dir(first_end.index, first_end.name, first_end.fingerprint)

            def on_chunk(k: int) -> None:
                if layout.read_step_marker(first_end_dir, k) is None:
                    early[k] = self.executor.submit(run_chunk_task, self._chunk_task(segments[0], k, len(first_refs), None))

        t0 = time.perf_counter()
        parts = jsonl_parts(layout, self.input_path, self.input_format, self.plan.required,
                            chunk_size=self.chunk_size, chunk_bytes=self.chunk_bytes, on_bad_input=self.on_bad_input)
        try:
            if parts is not None:
                parts = self._ingest_parts(parts, early, on_chunk)
                n_chunks = len(parts)
            else:
                n_chunks = ingest(layout, self.input_path, self.input_format, self.plan.required,
                                  chunk_size=self.chunk_size, chunk_bytes=self.chunk_bytes,
                                  on_bad_input=self.on_bad_input, on_chunk=on_chunk)
        except BaseException:
            for future in early.values():
                future.cancel()
            raise
        layout.emit("ingested", chunks=n_chunks, seconds=round(time.perf_counter() - t0, 4))
        last = self.refs[-1] if self.refs else None
        done_before = n_chunks if last is None else sum(
            k not in early and layout.read_step_marker(layout.step_dir(last.index, last.name, last.fingerprint), k)
            is not None for k in range(n_chunks))
        decisions: dict[int, Any] = {}
        output = OutputStream(self.output_path, [self._final_chunk(k) for k in range(n_chunks)])
        try:
            with StepProgress(self, n_chunks, events_offset):
                for segment in segments:
                    decision_path = None
                    if segment.barrier is not None:
                        decision_path, decisions[segment.barrier.index] = self._decide(segment, n_chunks)
                    refs = self._segment_refs(segment)
                    end = refs[-1]
                    end_dir = layout.step_dir(end.index, end.name, end.fingerprint)
                    submitted = early if segment is segments[0] else {}
                    todo = [k for k in range(n_chunks)
                            if k in submitted or layout.read_step_marker(end_dir, k) is None]
                    layout.emit("segment_started", segment=segment.index, steps=[r.index for r in refs],
                                chunks=n_chunks, cached=n_chunks - len(todo))
                    chunk_done = None
                    if segment is segments[-1]:  # the final chunks: the output is written as they complete
                        chunk_done = output.chunk_done
                        for k in sorted(set(range(n_chunks)) - set(todo)):
                            output.mark_done(k)
                    self._run_segment(segment, todo, decision_path, submitted, chunk_done)
                    if parts is not None and segment is segments[0] and early:  # its tasks ingested
                        finish_parts(layout, parts)
                    self.executor.segment_done()
            t0 = time.perf_counter()
            rows_out = output.finish()
        except BaseException:
            output.discard()
            raise
        n_rejects = write_rejects(layout, n_chunks, self.refs)
        layout.emit("output_written", rows=rows_out, rejected=n_rejects, seconds=round(time.perf_counter() - t0, 4))
        meta = {"input": str(self.input_path), "output": str(self.output_path) if self.output_path else None,
                "chunk_size": self.chunk_size, "chunk_bytes": self.chunk_bytes, "config": self.config,
                "executor": self.executor.name}
        summary = build_summary(layout, self.refs, run_id=self.run_id, n_chunks=n_chunks, started=started,
                                rows_out=rows_out, n_rejects=n_rejects, decisions=decisions, meta=meta)
        summary["resumed_chunks"] = done_before
        stats = self.executor.stats()
        if stats:
            summary["executor_stats"] = stats
        atomic_json(layout.run_json, summary)
        write_report(layout.root)
        layout.emit("run_completed", run_id=self.run_id, rows_out=rows_out, rejected=n_rejects)
        self.prune()
        return summary

    def _ingest_parts(self, parts: Iterator[JsonlPart], early: dict[int, Future],
                      on_chunk: Callable[[int], None] | None) -> list[JsonlPart]:
        """Ingest a jsonl input part by part; returns the parts. Workers that see the driver's files parse
        the parts: as the first thing of each chunk's task when the first segment streams from ingest
        (``early`` gets those tasks; the ingest is marked complete after that segment), else as tasks of
        their own. Other executors' parts are parsed here, each chunk handed to ``on_chunk`` as it is
        written, like :func:`ingest`."""
        layout = self.layout
        done: list[JsonlPart] = []
        if on_chunk is not None and self.executor.forks_driver:
            first = self.plan.segments[0]
            refs = self._segment_refs(first)
            end_dir = layout.step_dir(refs[-1].index, refs[-1].name, refs[-1].fingerprint)
            for part in parts:  # each chunk's task starts while the driver reads the next part's lines
                done.append(part)
                # (a chunk done through the segment whose ingest files are gone is ingested again)
                if (layout.read_step_marker(end_dir, part.k) is None
                        or read_json(layout.ingest_marker(part.k)) is None):
                    task = replace(self._chunk_task(first, part.k, len(refs), None), ingest=part)
                    early[part.k] = self.executor.submit(run_chunk_task, task)
            if not early:
                finish_parts(layout, done)
            return done
        if self.executor.forks_driver:
            def tasks() -> Iterator[IngestTask]:  # each submitted as its part is read
                for part in parts:
                    done.append(part)
                    yield IngestTask(layout, part)

            for _ in self.executor.map(run_ingest_task, tasks()):
                pass
        else:
            for part in parts:
                run_ingest_task(IngestTask(layout, part))
                done.append(part)
                if on_chunk is not None:
                    on_chunk(part.k)
        finish_parts(layout, done)
        return done

    def _final_chunk(self, k: int) -> Path:
        if not self.refs:
            return self.layout.ingest_chunk(k)
        last = self.refs[-1]
        return self.layout.step_file(self.layout.step_dir(last.index, last.name, last.fingerprint), k)

    def _streams_from_ingest(self, segment: Segment) -> bool:
        """Whether ``segment`` (the first) may start on each chunk as ingest writes it: it opens with no
        barrier (whose scan needs every chunk first), all its steps run in the workers (one task per chunk,
        nothing the driver must run between ingest's chunks) and there are workers to run them."""
        groups = self._groups(segment)
        return segment.barrier is None and len(groups) == 1 and not groups[0][1] and self.executor.workers > 1

    def _chunk_task(self, segment: Segment, k: int, stop: int, decision_path: str | None) -> ChunkTask:
        """The task bringing chunk ``k`` through the segment's steps ``[:stop]``; the one finishing the last
        segment also encodes the chunk's rows for a jsonl or json output (see ``OutputStream``)."""
        refs = self._segment_refs(segment)
        specs = {kind: spec for ref in refs for kind, spec in self._specs(ref).items()}
        encode = self.encodes_output and segment is self.plan.segments[-1] and stop == len(refs)
        return ChunkTask(self.layout, self.run_id, refs, stop, k, self._input_dir(segment), specs, decision_path,
                         encode_output=encode, scan=self._fused_scan(segment) if stop == len(refs) else None)

    def _fused_scan(self, segment: Segment) -> StepRef | None:
        """The next segment's barrier, when the local pool's task finishing a chunk of ``segment`` can scan it
        right away (on the rows in memory, instead of a pass of its own that reads every chunk again after
        the segment); a cluster executor may run the barrier its own way."""
        segments = self.plan.segments
        if not self.executor.forks_driver or segment.index + 1 >= len(segments):
            return None
        barrier = segments[segment.index + 1].barrier
        if barrier is None:
            return None
        ref = self.refs[barrier.index - 1]
        return None if self._in_driver(ref) or ref.resources else ref

    def _run_segment(self, segment: Segment, todo: list[int], decision_path: str | None,
                     submitted: dict[int, Future], chunk_done: Callable[[int, Any], None] | None) -> None:
        """Bring every chunk of ``todo`` through the segment. ``submitted``: tasks already running for some
        of them (the whole segment's); ``chunk_done(k, result)``: called, in chunk order for a segment that is one
        task per chunk, as each chunk completes the segment."""
        groups = self._groups(segment)

        def task(k: int, group: int) -> ChunkTask:
            return self._chunk_task(segment, k, groups[group][0], decision_path)

        if len(groups) == 1 and not groups[0][1]:
            futures = [submitted[k] if k in submitted else self.executor.submit(run_chunk_task, task(k, 0))
                       for k in todo]
            try:
                for k, future in zip(todo, futures):  # in chunk order, as the output is written
                    result = future.result()
                    if chunk_done is not None:
                        chunk_done(k, result)
            finally:
                for future in futures:
                    future.cancel()
            return
        # A pipeline over chunks: each chunk goes through the groups in order; worker groups are queued on
        # the executor at once, driver groups run here one at a time, lowest chunk first. While the driver
        # waits on the LLM for one chunk, the workers run the CPU groups of the others.
        stage = dict.fromkeys(todo, 0)
        running: dict[Future, int] = {}
        ready: list[int] = []  # chunks whose next group runs in the driver

        def launch(k: int) -> None:
            if stage[k] == len(groups):
                return
            if groups[stage[k]][1]:
                heapq.heappush(ready, k)
            else:
                running[self.executor.submit(run_chunk_task, task(k, stage[k]))] = k

        def finished(k: int, result: Any) -> None:
            stage[k] += 1
            if stage[k] == len(groups) and chunk_done is not None:
                chunk_done(k, result)
            launch(k)

        try:
            for k in todo:
                launch(k)
            while running or ready:
                for future in [f for f in running if f.done()]:
                    result = future.result()
                    finished(running.pop(future), result)
                if ready:
                    k = heapq.heappop(ready)
                    finished(k, run_chunk_task(task(k, stage[k])))
                elif running:
                    wait(list(running), return_when=FIRST_COMPLETED)
        finally:
            for future in running:
                future.cancel()

    # ------------------------------------------------------------------ barriers
    def _decide(self, segment: Segment, n_chunks: int) -> tuple[str, Any]:
        step = segment.barrier
        assert step is not None
        ref = self.refs[step.index - 1]
        step_dir = self.layout.step_dir(ref.index, ref.name, ref.fingerprint)
        path = self.layout.decision(step_dir)
        if path.exists():
            return str(path), load_pickle(path)
        wall = time.perf_counter()
        tasks = [ScanTask(self.layout, ref, k, self._input_dir(segment), self._specs(ref)) for k in range(n_chunks)]
        # An executor may run the whole barrier itself (a cluster's shuffle); then no state reaches here.
        decided = None if self._in_driver(ref) else self.executor.decide(step.op, tasks)
        if decided is not None:
            decision, scan_seconds, decide_seconds = decided
        else:
            if self._in_driver(ref):
                scanned = [run_scan_task(t) for t in tasks]
            else:
                scanned = list(self.executor.map(run_scan_task, tasks))
            t0 = time.perf_counter()
            decision = step.op.decide([state for state, _ in scanned])
            scan_seconds, decide_seconds = sum(sec for _, sec in scanned), time.perf_counter() - t0
        timing = {"scan_seconds": round(scan_seconds, 6), "decide_seconds": round(decide_seconds, 6),
                  "run_id": self.run_id}
        atomic_json(self.layout.barrier_timing(step_dir), timing)
        dump_pickle(path, decision)
        self.layout.emit("decided", step=ref.index, scan_seconds=timing["scan_seconds"],
                         decide_seconds=timing["decide_seconds"], seconds=round(time.perf_counter() - wall, 4))
        return str(path), decision

    def prune(self) -> None:
        """Remove cached results of older fingerprints of the same steps, so the cache does not grow."""
        for ref in self.refs:
            parent = self.layout.step_dir(ref.index, ref.name, ref.fingerprint).parent
            for other in parent.iterdir() if parent.exists() else ():
                if other.is_dir() and other.name != ref.fingerprint:
                    shutil.rmtree(other, ignore_errors=True)
        ingest_root = self.layout.root / "ingest"
        for other in ingest_root.iterdir() if ingest_root.exists() else ():
            if other.is_dir() and other.name != self.plan.input_fingerprint:
                shutil.rmtree(other, ignore_errors=True)
        shutil.rmtree(self.layout.output_parts(), ignore_errors=True)  # those of killed runs too


def write_report(cache_dir: Path) -> None:
    """``report.html`` beside ``run.json`` (samples are bounded, so it stays cheap on large runs); a report
    that cannot be written only warns: the run's results are complete without it."""
    import logging

    try:
        from dataflow.report import write_report as write

        write(cache_dir)
    except Exception as exc:  # noqa: BLE001 - the report is a view of the run, never its failure
        logging.getLogger("dataflow").warning("report.html not written: %s: %s", type(exc).__name__, exc)


class StepProgress:
    """One progress bar per step, advanced as chunks finish it, read from the run's event log (so a bar
    moves whichever process ran the chunk). Shown only on a terminal, or when asked for, and only for
    runs of more than one chunk."""

    def __init__(self, engine: Engine, n_chunks: int, offset: int) -> None:
        """``offset``: where this run's events start in the log (before ingest, whose chunks may already go
        through the first segment's steps)."""
        self.engine, self.n_chunks, self._offset = engine, n_chunks, offset
        enabled = engine.progress if engine.progress is not None else _is_terminal()
        self.enabled = bool(enabled) and n_chunks > 1 and bool(engine.refs)
        self._stop = threading.Event()

    def __enter__(self) -> StepProgress:
        if self.enabled:
            self._reader = threading.Thread(target=self._follow, daemon=True)
            self._reader.start()
        return self

    def _follow(self) -> None:
        from tqdm.auto import tqdm

        from dataflow.core.cache import follow_events

        bars: dict[int, Any] = {}
        early: dict[int, int] = {}  # steps done before their segment started (the first, during ingest)
        names = {r.index: r.name for r in self.engine.refs}
        offset = self._offset
        while True:
            stopping = self._stop.is_set()
            events, offset = follow_events(self.engine.layout.events, start=offset)
            for event in events:
                if event["event"] == "segment_started":
                    for bar in bars.values():
                        bar.close()
                    bars = {i: tqdm(total=self.n_chunks, initial=event["cached"] + early.pop(i, 0), unit="chunk",
                                    desc=f"{i:>2} {names[i]}", leave=False) for i in event["steps"]}
                elif event["event"] == "step_done" and event["step"] in bars:
                    bars[event["step"]].update(1)
                elif event["event"] == "step_done":
                    early[event["step"]] = early.get(event["step"], 0) + 1
            if stopping:
                break
            self._stop.wait(0.2)
        for bar in bars.values():
            bar.close()

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self._stop.set()
            self._reader.join(timeout=5)


def _is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


__all__ = ["Engine", "BadInputError", "step_ref"]
