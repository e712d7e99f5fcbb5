"""Executors get small, self-contained chunk tasks: a pool of spawned interpreters (nothing inherited,
every task pickled) gives the same output as the forked pool and the serial loop; progress is in the
event log; LLM steps run in the driver while the workers keep running the CPU steps around them."""

from __future__ import annotations

import json
import os
import pickle
from collections import Counter

from dataflow.core.cache import follow_events
from dataflow.core.pipeline import Pipeline
from dataflow.core.tasks import ChunkTask, ScanTask
from dataflow.executors.local import SpawnExecutor
from dataflow.operators.core_text.prompted_generator import FormatStrPromptedGenerator
from dataflow.serving.fake_server import FakeOpenAIServer
from tests.core.conftest import read_jsonl, write_jsonl
from tests.core.sample_ops import Checksum, ExactDedup, Suffix, Upper, WordCount
from tests.core.test_engine import rows


class RecordingSpawnExecutor(SpawnExecutor):
    """Spawned workers; records the pickled size and the kinds of every task it is handed."""

    def __init__(self, workers=None):
        super().__init__(workers)
        self.sizes: list[int] = []
        self.kinds: Counter = Counter()
        self.payloads: list[bytes] = []

    def submit(self, fn, task):
        data = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        self.sizes.append(len(data))
        self.payloads.append(data)
        self.kinds[type(task).__name__] += 1
        return super().submit(fn, task)


class Mixed(Pipeline):
    """CPU steps, a barrier, then an LLM step between CPU steps: every placement the engine has."""

    def __init__(self, inp, out, **kw):
        super().__init__(inp, out, **kw)
        self.upper, self.count, self.dedup = Upper(), WordCount(min_words=2), ExactDedup()
        self.suffix, self.sha = Suffix(), Checksum()
        self.ask = FormatStrPromptedGenerator(template="Echo: {text}", max_tokens=16)

    def forward(self):
        for op in (self.upper, self.count, self.dedup, self.suffix):
            op.run(self.storage, input_key="text")
        self.ask.run(self.storage, output_key="answer")
        self.sha.run(self.storage, input_key="text", output_key="sha")


def run_with(tmp_path, name, server, executor, workers):
    inp = tmp_path / "in.jsonl"
    if not inp.exists():
        write_jsonl(inp, rows(400))
    serving = {"backend": "openai", "model": "fake", "base_url": server.base_url, "cache": False}
    summary = Mixed(inp, tmp_path / f"{name}.jsonl", cache_dir=tmp_path / name, chunk_size=50,
                    serving=serving, executor=executor, workers=workers).run()
    return summary, read_jsonl(tmp_path / f"{name}.jsonl")


def test_spawned_workers_on_pickled_tasks_give_the_local_output(tmp_path):
    with FakeOpenAIServer() as server:
        _, serial = run_with(tmp_path, "serial", server, "serial", 1)
        _, local = run_with(tmp_path, "local", server, "local", 2)
        spawn = RecordingSpawnExecutor(2)
        summary, spawned = run_with(tmp_path, "spawn", server, spawn, 2)
    assert serial == local == spawned
    assert len(spawned) > 30 and all(r["answer"] == f"echo: Echo: {r['text']}" for r in spawned)
    assert summary["executor"] == "spawn"
    # Both kinds of task went through pickling, and each one is small: it names steps, a chunk, the
    # cache layout and resource configs, never an operator object, a serving, a model or the pipeline.
    assert spawn.kinds[ScanTask.__name__] == 8 and spawn.kinds[ChunkTask.__name__] >= 16
    print(f"pickled task sizes: max {max(spawn.sizes)} B, mean {sum(spawn.sizes) / len(spawn.sizes):.0f} B")
    assert max(spawn.sizes) < 8_000
    for data in spawn.payloads:
        for forbidden in (b"dataflow.serving", b"dataflow.core.pipeline", b"dataflow.core.engine", b"Mixed",
                          b"llama", b"OpenAIServing", b"sample_ops\x94\x8c\x05Upper"):
            assert forbidden not in data


def test_the_event_log_follows_a_run_from_outside(tmp_path):
    with FakeOpenAIServer() as server:
        summary, out = run_with(tmp_path, "ev", server, "local", 2)
        events, offset = follow_events(tmp_path / "ev" / "events.jsonl")
        kinds = Counter(e["event"] for e in events)
        assert kinds["run_started"] == kinds["run_completed"] == 1 and kinds["ingested"] == 1
        assert kinds["decided"] == kinds["output_written"] == 1
        assert kinds["segment_started"] == 2
        done = Counter(e["step"] for e in events if e["event"] == "step_done")
        assert done == {s["index"]: summary["chunks"] for s in summary["steps"]}
        assert events[-1]["event"] == "run_completed" and events[-1]["rows_out"] == len(out)
        assert follow_events(tmp_path / "ev" / "events.jsonl", start=offset) == ([], offset)
        # A re-run from the cache adds a run's worth of events but no step-chunk work.
        run_with(tmp_path, "ev", server, "local", 2)
        later, _ = follow_events(tmp_path / "ev" / "events.jsonl", start=offset)
    assert [e["event"] for e in later if e["event"] == "step_done"] == []
    assert sum(e["event"] == "run_completed" for e in later) == 1


def test_worker_processes_build_each_operator_once_and_tear_it_down(tmp_path):
    from tests.core.sample_ops import SetupCounter

    inp = write_jsonl(tmp_path / "in.jsonl", rows(300))
    log = tmp_path / "lifecycle.log"

    class Once(Pipeline):
        def __init__(self):
            super().__init__(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "c", chunk_size=20, workers=2)
            self.op = SetupCounter(log=str(log))

        def forward(self):
            self.op.run(self.storage, input_key="text")

    Once().run()
    events = log.read_text().split()
    setups = [e for e in events if e.startswith("setup:")]
    teardowns = [e for e in events if e.startswith("teardown:")]
    assert 1 <= len(setups) <= 2 and sorted(setups) == sorted(e.replace("teardown", "setup") for e in teardowns)
    assert sum(e.startswith("chunk:") for e in events) == 15


def test_an_operator_file_named_in_a_spec_runs_in_spawned_workers(tmp_path):
    """``ops/upper.py:Upper`` is loaded from the file in the driver and again, from the same file, in a
    fresh interpreter (the spawn executor), so its chunks run there too."""
    from dataflow.core.pipeline import Pipeline

    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "upper.py").write_text(
        "from dataflow.core.operator import InputColumn, OutputColumn, Refiner\n\n\n"
        "class Upper(Refiner):\n    input_key = InputColumn('text')\n\n"
        "    def refine_text(self, text):\n        import os\n        return f'{text.upper()} {os.getpid()}'\n")
    (tmp_path / "in.jsonl").write_text("".join(f'{{"text": "row {i}"}}\n' for i in range(6)))
    (tmp_path / "spec.yaml").write_text("input: in.jsonl\noutput: out.jsonl\nchunk_size: 2\n"
                                        "steps:\n  - op: ops/upper.py:Upper\n    run: {input_key: text}\n")
    pipeline = Pipeline.from_spec(tmp_path / "spec.yaml")
    pipeline.executor = "spawn"
    pipeline.run()
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["text"].split()[:2] for r in rows] == [["ROW", str(i)] for i in range(6)]
    assert all(int(r["text"].split()[2]) != os.getpid() for r in rows)  # computed in the workers


def test_an_operator_defined_in_the_script_runs_in_forked_workers(tmp_path):
    """A class no other process can import (defined in a function, or in ``__main__``) still runs in the
    forked pool's workers, which hold the driver's object; a spawned pool runs it in the driver."""
    from dataflow.core.operator import InputColumn, Refiner

    class TagWithPid(Refiner):
        input_key = InputColumn("text")

        def refine_text(self, text):
            return f"{text} {os.getpid()}"

    class Run(Pipeline):
        def __init__(self, inp, out, **kw):
            super().__init__(inp, out, chunk_size=2, **kw)
            self.tag = TagWithPid()

        def forward(self):
            self.tag.run(self.storage, input_key="text")

    (tmp_path / "in.jsonl").write_text("".join(f'{{"text": "row {i}"}}\n' for i in range(8)))
    for executor, elsewhere in (("local", True), ("spawn", False)):
        out = tmp_path / f"{executor}.jsonl"
        pipe = Run(tmp_path / "in.jsonl", out, cache_dir=tmp_path / f"cache-{executor}", workers=2)
        pipe.executor = executor
        pipe.run()
        rows = [json.loads(line)["text"].split() for line in out.read_text().splitlines()]
        assert [r[:2] for r in rows] == [["row", str(i)] for i in range(8)]
        pids = {int(r[2]) for r in rows}
        assert (os.getpid() not in pids) == elsewhere, (executor, pids)


def test_the_local_pool_scans_a_chunk_for_the_next_barrier_in_the_task_that_finishes_it(tmp_path):
    """The first segment's tasks carry the barrier's scan (their states are cached when its pass starts);
    spawned and serial executors scan in a pass of their own. All three give the same output (above)."""
    from dataflow.core.engine import Engine
    from dataflow.core.executor import SerialExecutor
    from dataflow.executors.local import LocalExecutor

    write_jsonl(tmp_path / "in.jsonl", rows(40))
    pipe = Mixed(tmp_path / "in.jsonl", tmp_path / "out.jsonl", cache_dir=tmp_path / "c", chunk_size=10)
    plan = pipe.compile()
    first, second = plan.segments[0], plan.segments[1]
    assert second.barrier is not None
    for executor, fused in ((LocalExecutor(2), True), (SpawnExecutor(2), False), (SerialExecutor(), False)):
        engine = Engine(plan, input_path=tmp_path / "in.jsonl", output_path=None, cache_dir=tmp_path / "c",
                        chunk_size=10, executor=executor)
        task = engine._chunk_task(first, 0, len(first.steps), None)
        assert (task.scan is not None and task.scan.index == second.barrier.index) == fused
        assert engine._chunk_task(first, 0, 1, None).scan is None  # only the task that completes the segment
