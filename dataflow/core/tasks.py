"""Chunk tasks: the small, picklable units of work an executor runs, and their worker side.

A task names the steps it runs (operator class, params, bindings, fingerprint), one chunk, the cache
layout and the resource specs: never a pipeline, an engine, a serving or a loaded model. A worker
rebuilds each operator from its class and params once, calls its ``setup()``, and keeps it (and any
resource it built, such as a loaded model) for the following chunks; ``teardown_worker()`` releases them.
The same functions run in the driver, in a forked, forkserver or spawned process, or on a cluster node.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.core.bindings import Bindings
from dataflow.core.cache import CacheLayout, dump_pickle, load_pickle
from dataflow.core.chunk_runner import ChunkStep, Deferred, release_memory, replay, run_step
from dataflow.core.context import ChunkMemo, StepContext
from dataflow.core.fileio import read_frame, write_json_rows
from dataflow.core.ingest import JsonlPart
from dataflow.core.operator import Cost, Operator
from dataflow.core.resources import ResourcePool, ResourceSpec
from dataflow.core.results import EncodedRows


@dataclass(frozen=True)
class StepRef:
    """What a worker needs to rebuild one step."""

    index: int
    name: str
    op_class: str  # "module:QualName"
    params: dict[str, Any]
    bindings: dict[str, Any]
    fingerprint: str
    resources: tuple[str, ...] = ()
    is_barrier: bool = False
    portable: bool = True  # False: the operator exists only in the driver (a local class, its own model)
    #: A worker forked from the driver may run it with the driver's own object (registered before the fork),
    #: importable or not; False when it holds a resource instance of its own (a model, a client).
    forkable: bool = True
    cost: Cost = Cost()  # what one instance needs, for an executor that places work by it

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.name})"


# ---------------------------------------------------------------- the operators and resources of a process
_OPERATORS: dict[str, Operator] = {}  # by step fingerprint
_SET_UP: set[tuple[int, str]] = set()  # (pid, fingerprint): a forked child sets its operators up again
_POOLS: dict[tuple, ResourcePool] = {}
_LOCK = threading.Lock()


#: Modules loaded from operator files named in specs (``file.py:Class``) live under this name.
USER_OPS_PACKAGE = "dataflow_user_ops."


def import_operator_file(path: Path) -> Any:
    """The module defined by the Python file ``path``, loaded once per process under a name derived from
    its resolved path (so two files of the same name do not clash). A step of such an operator names the file
    in its :class:`StepRef`, so a spawned worker loads the same file under the same name."""
    import hashlib
    import importlib.util

    path = path.resolve()
    name = f"{USER_OPS_PACKAGE}{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise ImportError(f"operator file not found: {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ImportError(f"cannot load operator file {path}: {type(exc).__name__}: {exc}") from exc
    return module


def register_local_operator(ref: StepRef, op: Operator) -> None:
    """Make the driver's own operator object serve ``ref`` in this process (no rebuild, no pickling)."""
    with _LOCK:
        _OPERATORS[ref.fingerprint] = op


def operator_for(ref: StepRef) -> Operator:
    with _LOCK:
        op = _OPERATORS.get(ref.fingerprint)
        if op is None:
            if not ref.portable:
                raise RuntimeError(f"{ref.label} can only run in the process that built the pipeline")
            module, _, qualname = ref.op_class.rpartition(":")
            cls: Any = (import_operator_file(Path(module)) if module.endswith(".py")
                        else importlib.import_module(module))
            for part in qualname.split("."):
                cls = getattr(cls, part)
            op = _OPERATORS[ref.fingerprint] = cls(**ref.params)
        if (os.getpid(), ref.fingerprint) not in _SET_UP:
            op.setup()
            _SET_UP.add((os.getpid(), ref.fingerprint))
        return op


def resource_pool(specs: dict[str, ResourceSpec]) -> ResourcePool:
    key = tuple(sorted((kind, spec.key) for kind, spec in specs.items()))
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ResourcePool(dict(specs))
        return pool


def teardown_worker() -> None:
    """Tear down every operator set up in this process and close the resources it built."""
    with _LOCK:
        ops = [_OPERATORS[fp] for pid, fp in _SET_UP if pid == os.getpid() and fp in _OPERATORS]
        pools = list(_POOLS.values())
        _SET_UP.clear()
        _OPERATORS.clear()
        _POOLS.clear()
    for op in ops:
        op.teardown()
    for pool in pools:
        pool.close()


# ---------------------------------------------------------------- tasks
@dataclass(frozen=True)
class ChunkTask:
    """Bring chunk ``chunk`` through ``steps[:stop]`` of a segment (what is cached is replayed, not rerun)."""

    layout: CacheLayout
    run_id: str
    steps: tuple[StepRef, ...]  # the whole segment: earlier steps are replayed from their cache
    stop: int
    chunk: int
    input_dir: str | None  # the previous segment's last step directory; None: the ingested input
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    decision: str | None = None  # the barrier's decision file, when the segment opens with one
    ingest: JsonlPart | None = None  # the chunk's input lines, ingested first (when not done yet)
    encode_output: bool = False  # encode the final chunk's rows for the output (see results.EncodedRows)
    #: The next segment's barrier: its scan of this chunk is computed here, on the rows in memory, once the
    #: task completes the segment (its ScanTask then finds the state cached).
    scan: StepRef | None = None


@dataclass(frozen=True)
class IngestTask:
    """Ingest one part of a jsonl input (see :mod:`dataflow.core.ingest`)."""

    layout: CacheLayout
    part: JsonlPart


def run_ingest_task(task: IngestTask) -> bool:
    """Ingest the part; returns False when its chunk was there already."""
    return task.part.ingest(task.layout)


@dataclass(frozen=True)
class ScanTask:
    """The first pass of a dataset-level step over one chunk."""

    layout: CacheLayout
    step: StepRef
    chunk: int
    input_dir: str | None
    resources: dict[str, ResourceSpec] = field(default_factory=dict)


def _chunk_step(layout: CacheLayout, ref: StepRef) -> ChunkStep:
    return ChunkStep(ref.index, ref.name, operator_for(ref), Bindings(ref.bindings),
                     layout.step_dir(ref.index, ref.name, ref.fingerprint), ref.is_barrier)


def _input_path(layout: CacheLayout, input_dir: str | None, k: int) -> Path:
    return layout.ingest_chunk(k) if input_dir is None else layout.step_file(Path(input_dir), k)


#: The report's refiner examples come from this many first chunks (``dataflow.report.data.collect``).
REPORT_EXAMPLE_CHUNKS = 2

_DECISIONS: dict[str, Any] = {}


def _decision(path: str | None) -> Any:
    if path is None:
        return None
    with _LOCK:
        if path not in _DECISIONS:
            _DECISIONS.clear()  # one barrier's decision at a time: it can be large
            _DECISIONS[path] = load_pickle(Path(path))
        return _DECISIONS[path]


def run_chunk_task(task: ChunkTask) -> bool | EncodedRows:
    """Run the task; returns False when everything it asks for was already cached, or with
    ``encode_output`` the chunk's final rows, encoded for the output file."""
    ran = _run_chunk_task(task)
    if not task.encode_output:
        return ran
    last = task.steps[task.stop - 1]
    layout = task.layout
    # From the stored file, as the driver would read it: the text is the same whoever encodes it.
    frame = read_frame(layout.step_file(layout.step_dir(last.index, last.name, last.fingerprint), task.chunk))
    path = layout.output_part(task.run_id, task.chunk)
    write_json_rows(frame, path)
    return EncodedRows(str(path), len(frame))


def _run_chunk_task(task: ChunkTask) -> bool:
    layout = task.layout
    if task.ingest is not None:
        task.ingest.ingest(layout)
    refs = task.steps[:task.stop]
    dirs = [layout.step_dir(r.index, r.name, r.fingerprint) for r in refs]
    markers = [layout.read_step_marker(d, task.chunk) for d in dirs]
    done = 0
    while done < len(refs) and markers[done] is not None:
        done += 1
    # Deferred markers count only with the stored marker after them (see chunk_runner): a kill between the
    # two left steps without files, which are run again.
    while done and markers[done - 1].get("stored", True) is False:
        done -= 1
    if done == len(refs):
        return False
    steps = [_chunk_step(layout, r) for r in refs]
    frame = replay(layout, _input_path(layout, task.input_dir, task.chunk), task.chunk, steps[:done],
                   markers[:done])
    memo = ChunkMemo()
    pool = resource_pool(task.resources)
    last = len(task.steps) - 1
    deferred = Deferred([])
    for j in range(done, len(refs)):
        frame = run_step(layout, steps[j], task.chunk, frame, memo, full=j == last,
                         decision=_decision(task.decision) if steps[j].is_barrier else None,
                         resources=pool, run_id=task.run_id, store=_stored(steps[j], task.chunk, j == len(refs) - 1),
                         deferred=deferred)
    if task.scan is not None and task.stop == len(task.steps):
        _scan(layout, task.scan, task.chunk, frame, pool)
    del frame, memo
    release_memory()
    return True


def _stored(step: ChunkStep, k: int, last: bool) -> bool:
    """Whether the step's result on chunk ``k`` is stored even when cheap (see chunk_runner): the task's last
    step, and a refiner on the chunks whose before/after examples the report shows (a later refiner of the
    same column would leave no trace of this one's changes)."""
    return last or (step.op.kind == "refine" and k < REPORT_EXAMPLE_CHUNKS)


def run_scan_task(task: ScanTask) -> tuple[Any, float]:
    """The step's scan state for one chunk (cached on disk) and the seconds it took to compute."""
    layout, ref = task.layout, task.step
    path = layout.scan_state(layout.step_dir(ref.index, ref.name, ref.fingerprint), task.chunk)
    if path.exists():
        return load_pickle(path)
    frame = read_frame(_input_path(layout, task.input_dir, task.chunk))
    return _scan(layout, ref, task.chunk, frame, resource_pool(task.resources))


def _scan(layout: CacheLayout, ref: StepRef, k: int, frame: Any, pool: ResourcePool) -> tuple[Any, float]:
    """The barrier ``ref``'s scan of chunk ``k`` (``frame``: its rows), stored with the seconds it took."""
    op = operator_for(ref)
    ctx = StepContext(step_index=ref.index, op_name=ref.name, cols=Bindings(ref.bindings), chunk_index=k,
                      op=op, resources=pool)
    t0 = time.perf_counter()
    state = (op.scan(frame.reset_index(drop=True), ctx), time.perf_counter() - t0)
    dump_pickle(layout.scan_state(layout.step_dir(ref.index, ref.name, ref.fingerprint), k), state)
    return state
