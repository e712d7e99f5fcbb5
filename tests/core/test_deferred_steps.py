"""Deferred steps: cheap steps of a chunk task leave markers but no delta files; a kill between their markers
and the stored step's recomputes them; the report rebuilds their values from the later files."""

from __future__ import annotations

import json

from dataflow.core.pipeline import Pipeline
from dataflow.report import collect
from tests.core.conftest import read_jsonl, write_jsonl
from tests.core.sample_ops import Checksum, Suffix, Upper, WordCount


class Cheap(Pipeline):
    """Four cheap steps in one segment: a refiner, a range filter (drops rows), an evaluator, a refiner."""

    def __init__(self, inp, out, **kw):
        super().__init__(inp, out, chunk_size=10, executor="serial", **kw)
        self.upper = Upper()
        self.count = WordCount(min_words=2)
        self.sha = Checksum()
        self.suffix = Suffix(suffix=".")

    def forward(self):
        self.upper.run(self.storage, input_key="text")
        self.count.run(self.storage, input_key="text")
        self.sha.run(self.storage, input_key="text", output_key="sha")
        self.suffix.run(self.storage, input_key="text")


def data(n=40):
    return [{"id": i, "text": " ".join(f"w{(i * 7 + j) % 13}" for j in range(i % 5))} for i in range(n)]


def step_dirs(cache):
    return {d.name.split("-", 1)[1]: next(d.iterdir()) for d in sorted((cache / "steps").iterdir())}


def test_cheap_steps_leave_markers_without_files_and_the_output_is_unchanged(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", data())
    summary = Cheap(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "cache").run(progress=False)
    dirs = step_dirs(tmp_path / "cache")
    k = 2  # past the chunks where refiners are kept for the report's examples
    for name in ("WordCount", "Checksum"):
        marker = json.loads((dirs[name] / f"chunk-{k:05d}.json").read_text())
        assert marker["stored"] is False and not (dirs[name] / f"chunk-{k:05d}.parquet").exists()
    last = json.loads((dirs["Suffix"] / f"chunk-{k:05d}.json").read_text())
    assert last["full"] and "stored" not in last
    assert (dirs["WordCount"] / f"chunk-{k:05d}.dropped.parquet").exists()  # drops are written at once
    # Counts per step come from the deferred markers as from stored ones.
    by_op = {s["op"]: s for s in summary["steps"]}
    assert by_op["WordCount"]["rows_in"] == 40 and sum(by_op["WordCount"]["dropped"].values()) > 0
    fresh = Cheap(inp, tmp_path / "again.jsonl", cache_dir=tmp_path / "cache2")
    fresh.run(progress=False)
    assert read_jsonl(tmp_path / "out.jsonl") == read_jsonl(tmp_path / "again.jsonl")


def test_deferred_markers_without_the_stored_one_are_run_again(tmp_path):
    """A kill after a chunk's deferred markers but before the stored step's marker: the resumed run
    recomputes that chunk's steps instead of replaying files that were never written."""
    inp = write_jsonl(tmp_path / "in.jsonl", data())
    Cheap(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "cache").run(progress=False)
    reference = (tmp_path / "out.jsonl").read_text()
    dirs = step_dirs(tmp_path / "cache")
    for k in (2, 3):
        (dirs["Suffix"] / f"chunk-{k:05d}.json").unlink()
        (dirs["Suffix"] / f"chunk-{k:05d}.parquet").unlink()
    summary = Cheap(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "cache").run(progress=False)
    assert (tmp_path / "out.jsonl").read_text() == reference
    by_op = {s["op"]: s for s in summary["steps"]}
    assert by_op["Upper"]["cached_chunks"] == 2  # chunks 2 and 3 ran every step again, the rest were cached
    assert by_op["Suffix"]["cached_chunks"] == 2


def test_report_rebuilds_the_scores_of_deferred_steps(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", data())
    summary = Cheap(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "cache").run(progress=False)
    by_op = {s["op"]: s for s in summary["steps"]}
    report = collect(tmp_path / "cache")
    words = next(sc for sc in report.scores if sc.column == "n_words")
    assert len(words.kept) == by_op["WordCount"]["rows_out"]
    assert len(words.dropped) == sum(by_op["WordCount"]["dropped"].values())
    assert words.bounds_known and words.low == 2
    assert report.refiner_samples[by_op["Upper"]["index"]]  # from the first chunks, where refiners are stored
