"""Ingest, chunk processing and output overlap: the first segment's tasks start as ingest writes their
chunks, and the output is written chunk by chunk, in order, while the last segment runs."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from dataflow.core.bindings import InputColumn
from dataflow.core.cache import CacheLayout
from dataflow.core.errors import StepError
from dataflow.core.executor import SerialExecutor
from dataflow.core.fileio import write_frame
from dataflow.core.ingest import ingest
from dataflow.core.pipeline import Pipeline
from dataflow.core.results import OutputStream, write_output
from tests.core.conftest import write_jsonl
from tests.core.sample_ops import Checksum, Explode, Upper, WordCount


class Rules(Pipeline):
    """One segment, every step in the workers."""

    def __init__(self, inp, out, explode=False, **kw):
        super().__init__(inp, out, **kw)
        self.ops = [Upper(), WordCount(min_words=2), Checksum()] + ([Explode()] if explode else [])

    def forward(self):
        upper, count, sha, *rest = self.ops
        upper.run(self.storage, input_key="text")
        count.run(self.storage, input_key="text")
        sha.run(self.storage, input_key="text", output_key="sha")
        for op in rest:
            op.run(self.storage, input_key="text")


class InlineTwoWorkers(SerialExecutor):
    """Runs tasks in the calling process but says it has two workers; records, for every task, how many
    ingest chunks were complete when it was submitted."""

    name = "inline"

    def __init__(self, layout: CacheLayout) -> None:
        self.layout, self.seen_at_submit = layout, []

    @property
    def workers(self) -> int:
        return 2

    def submit(self, fn, task) -> Future:
        self.seen_at_submit.append((task.chunk, sum(1 for _ in self.layout.ingest_dir.glob("chunk-*.json"))))
        return super().submit(fn, task)


def rows(n):
    return [{"id": i, "text": " ".join(f"w{(i * 7 + j) % 13}" for j in range(i % 5))} for i in range(n)]


def test_ingest_announces_each_chunk_it_writes_once_the_chunk_is_complete(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", rows(100))
    layout = CacheLayout(tmp_path / "c", "fp")
    announced = []

    def on_chunk(k):
        assert layout.ingest_marker(k).exists() and layout.ingest_chunk(k).exists()
        announced.append(k)

    kw = dict(chunk_size=30, chunk_bytes=1 << 20, on_bad_input="error")
    assert ingest(layout, inp, "jsonl", {"text": InputColumn("text")}, on_chunk=on_chunk, **kw) == 4
    assert announced == [0, 1, 2, 3]
    announced.clear()  # done: nothing is written again, nothing announced
    assert ingest(layout, inp, "jsonl", {"text": InputColumn("text")}, on_chunk=on_chunk, **kw) == 4
    assert announced == []


def test_the_first_segment_starts_on_each_chunk_before_ingest_reads_the_next(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", rows(200))
    serial = Rules(inp, tmp_path / "serial.jsonl", cache_dir=tmp_path / "c1", chunk_size=30,
                   executor="serial").run()
    pipe = Rules(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "c2", chunk_size=30)
    executor = InlineTwoWorkers(CacheLayout(tmp_path / "c2", pipe.compile().input_fingerprint))
    pipe.executor = executor
    summary = pipe.run()
    assert executor.seen_at_submit == [(k, k + 1) for k in range(7)]
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "serial.jsonl").read_bytes()
    timing = ("seconds", "step_seconds")
    assert {k: v for k, v in summary["totals"].items() if k not in timing} == {
        k: v for k, v in serial["totals"].items() if k not in timing}


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_the_output_stream_writes_completed_chunks_in_order_and_equals_the_whole_write(tmp_path, fmt):
    import pandas as pd

    paths = []
    for k, n in enumerate([3, 0, 2, 4]):
        frame = pd.DataFrame({"_row_id": [f"{k}-{i}" for i in range(n)], "text": [f"t{k}{i}" for i in range(n)],
                              "n": list(range(n))}).astype({"text": object})
        write_frame(frame, tmp_path / f"chunk-{k}.parquet")
        paths.append(tmp_path / f"chunk-{k}.parquet")
    whole = tmp_path / f"whole.{fmt}"
    write_output(whole, paths)
    out = tmp_path / f"out.{fmt}"
    stream = OutputStream(out, paths)
    assert stream.streamed == (fmt != "csv")
    stream.chunk_done(2)  # waits for 0 and 1
    assert not list(tmp_path.glob(f".out.{fmt}.*.tmp"))
    stream.mark_done(1)
    stream.chunk_done(0)  # writes 0, 1 and 2
    assert list(tmp_path.glob(f".out.{fmt}.*.tmp")) == ([] if fmt == "csv" else [stream._writer.tmp])
    assert not out.exists()
    assert stream.finish() == 9
    assert out.read_bytes() == whole.read_bytes()
    assert not list(tmp_path.glob(".out.*"))


def test_a_failed_run_leaves_the_previous_output_and_no_temporary_file(tmp_path):
    # chunk 0 is written to the output's temporary file, then every row of chunk 1 fails: a broken operator
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "boom boom" if i >= 30 else "a b"} for i in range(90)])
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    with pytest.raises(StepError):
        Rules(inp, out, explode=True, cache_dir=tmp_path / "c", chunk_size=30, workers=2).run()
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "in.jsonl", "out.jsonl"]


def test_a_killed_writers_temporary_output_is_removed_by_the_next_writer(tmp_path):
    """A run killed while streaming its output leaves .<name>.<pid>.tmp; the next writer of that output
    deletes it when its process is gone, and leaves a live process's file alone."""
    import os
    import subprocess
    import sys

    from dataflow.core.fileio import OutputWriter

    out = tmp_path / "out.jsonl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan = tmp_path / f".out.jsonl.{dead}.tmp"
    orphan.write_text("partial\n")
    live = tmp_path / f".out.jsonl.{os.getppid()}.tmp"
    live.write_text("someone else's\n")
    OutputWriter(out)
    assert not orphan.exists() and live.exists()
