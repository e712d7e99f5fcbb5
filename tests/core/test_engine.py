"""The engine: chunked runs equal eager runs, the step cache, partial recompute, formats, inspect."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.core.pipeline import Pipeline
from dataflow.core.run_inspector import RunInspector
from tests.core.conftest import read_jsonl, write_jsonl
from tests.core.sample_ops import Checksum, ExactDedup, SplitWords, Suffix, Upper, WordCount


class Demo(Pipeline):
    def __init__(self, inp, out, suffix="!", **kw):
        super().__init__(inp, out, **kw)
        self.upper = Upper()
        self.count = WordCount(min_words=2)
        self.dedup = ExactDedup()
        self.suffix = Suffix(suffix=suffix)
        self.sha = Checksum()

    def forward(self):
        self.upper.run(self.storage, input_key="text")
        self.count.run(self.storage, input_key="text")
        self.dedup.run(self.storage, input_key="text")
        self.suffix.run(self.storage, input_key="text")
        self.sha.run(self.storage, input_key="text", output_key="sha")


def rows(n):
    return [{"id": i, "text": " ".join(f"w{(i * 7 + j) % 13}" for j in range(i % 5)), "meta": {"i": i}}
            for i in range(n)]


def eager(data):
    s = DataFrameStorage(data)
    for op, kw in ((Upper(), {}), (WordCount(min_words=2), {}), (ExactDedup(), {}), (Suffix(), {}),
                   (Checksum(), {"output_key": "sha"})):
        op.run(s, **kw)
    return s.to_records()


def step_markers(cache):
    return {p.relative_to(cache).as_posix(): p.stat().st_mtime_ns for p in cache.glob("steps/*/*/chunk-*.json")}


def test_chunked_parallel_run_equals_eager_run_and_keeps_types(tmp_path):
    data = rows(500)
    inp = write_jsonl(tmp_path / "in.jsonl", data)
    summary = Demo(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "c", chunk_size=37, workers=2).run()
    out = read_jsonl(tmp_path / "out.jsonl")
    assert out == eager(data)
    assert isinstance(out[0]["id"], int) and out[0]["meta"] == {"i": out[0]["id"]}
    assert summary["totals"]["rows_out"] == len(out)
    by_step = {s["op"]: s for s in summary["steps"]}
    assert by_step["WordCount"]["dropped"] == {"word_count < 2": 200}
    assert sum(by_step["ExactDedup"]["dropped"].values()) == by_step["ExactDedup"]["rows_in"] - len(out)
    assert by_step["ExactDedup"]["scan_seconds"] > 0  # the whole-dataset pass is accounted to its step
    assert json.loads((tmp_path / "c" / "run.json").read_text())["steps"][0]["index"] == 1


def test_second_run_is_served_from_cache_and_a_param_change_recomputes_only_downstream(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", rows(300))
    cache = tmp_path / "c"
    Demo(inp, tmp_path / "o1.jsonl", cache_dir=cache, chunk_size=50).run()
    first = step_markers(cache)
    rerun = Demo(inp, tmp_path / "o2.jsonl", cache_dir=cache, chunk_size=50).run()
    assert step_markers(cache) == first  # nothing recomputed
    assert all(s["cached_chunks"] == rerun["chunks"] and s["seconds"] == 0 for s in rerun["steps"])
    assert read_jsonl(tmp_path / "o1.jsonl") == read_jsonl(tmp_path / "o2.jsonl")

    Demo(inp, tmp_path / "o3.jsonl", suffix="?", cache_dir=cache, chunk_size=50).run()
    after = step_markers(cache)
    unchanged = {k for k in first if after.get(k) == first[k]}
    steps_kept = {k.split("/")[1] for k in unchanged}
    assert steps_kept == {"01-Upper", "02-WordCount", "03-ExactDedup"}
    assert not any(k.startswith("steps/04-Suffix") for k in unchanged)
    assert all(r["text"].endswith("?") for r in read_jsonl(tmp_path / "o3.jsonl"))


def test_input_file_is_never_modified(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", rows(40))
    before = inp.read_bytes()
    Demo(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c", chunk_size=7).run()
    assert inp.read_bytes() == before


def test_dropped_rows_are_kept_with_step_and_reason(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"text": "a b"}, {"text": "short"}, {"text": "a b"}])
    Demo(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c").run()
    insp = RunInspector(tmp_path / "c")
    assert "dropped at step 2 (WordCount): word_count < 2" in insp.explain_row("2")
    assert "dropped at step 3 (ExactDedup): duplicate of row 1" in insp.explain_row("3")
    assert "in the output" in insp.explain_row("1")
    reasons = {(d["row_id"], d["reason"]) for d in insp.dropped()}
    assert reasons == {("2", "word_count < 2"), ("3", "duplicate of row 1")}


def test_row_expanding_steps_resume_and_recompute_correctly(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", rows(60))

    class Expand(Pipeline):
        def __init__(self, parts):
            super().__init__(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c", chunk_size=16)
            self.split = SplitWords(max_parts=parts)
            self.upper = Upper()

        def forward(self):
            self.split.run(self.storage, input_key="text")
            self.upper.run(self.storage, input_key="part")

    Expand(2).run()
    two = read_jsonl(tmp_path / "o.jsonl")
    Expand(3).run()
    three = read_jsonl(tmp_path / "o.jsonl")
    assert len(three) > len(two) and all(r["part"].isupper() for r in three)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_every_output_format_round_trips(tmp_path, fmt):
    data = [{"text": "a b c", "n": i} for i in range(5)]
    inp = write_jsonl(tmp_path / "in.jsonl", data)
    out = tmp_path / f"out.{fmt}"

    class P(Pipeline):
        def __init__(self):
            super().__init__(inp, out, cache_dir=tmp_path / "c")
            self.op = Upper()

        def forward(self):
            self.op.run(self.storage)

    P().run()
    frame = {"jsonl": lambda p: pd.read_json(p, lines=True), "json": pd.read_json, "csv": pd.read_csv,
             "parquet": pd.read_parquet}[fmt](out)
    assert frame["text"].tolist() == ["A B C"] * 5 and frame["n"].tolist() == list(range(5))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "hf"])
def test_every_input_format_is_read(tmp_path, fmt):
    import pyarrow as pa

    frame = pd.DataFrame({"text": ["a b", "c d e"], "n": [1, 2]})
    if fmt == "csv":
        inp = tmp_path / "in.csv"
        frame.to_csv(inp, index=False)
    elif fmt == "parquet":
        inp = tmp_path / "in.parquet"
        frame.to_parquet(inp)
    elif fmt == "json":
        inp = tmp_path / "in.json"
        inp.write_text(json.dumps(frame.to_dict("records")))
    else:  # a saved Hugging Face dataset directory: Arrow IPC stream files
        inp = tmp_path / "hf"
        inp.mkdir()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pa.OSFile(str(inp / "data-00000-of-00001.arrow"), "wb") as sink:
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)

    class P(Pipeline):
        def __init__(self):
            super().__init__(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c")
            self.op = WordCount(min_words=3)

        def forward(self):
            self.op.run(self.storage)

    P().run()
    assert read_jsonl(tmp_path / "o.jsonl") == [{"text": "c d e", "n": 2, "n_words": 3}]


def test_chunks_also_close_by_input_bytes_and_resume_exactly(tmp_path):
    data = [{"id": i, "text": ("word " * (50 + i % 150)).strip()} for i in range(300)]
    inp = write_jsonl(tmp_path / "in.jsonl", data)
    pipe = Demo(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c", chunk_size=1000)
    pipe.chunk_bytes = 20_000
    summary = pipe.run()
    assert summary["chunks"] > 5  # by bytes, not by the 1,000-row limit
    markers = sorted((tmp_path / "c" / "ingest").glob("*/chunk-*.json"))
    # A jsonl input is cut into parts of raw lines: contiguous byte ranges covering the file.
    ranges = [json.loads(m.read_text())["bytes"] for m in markers]
    assert ranges[0][0] == 0 and ranges[-1][1] == inp.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert all(b - a <= 20_000 + 1_000 for a, b in ranges)
    assert read_jsonl(tmp_path / "o.jsonl") == eager(data)
    # Losing the last ingest chunks (a crash mid-ingest) ingests those again, and only those.
    ingest = markers[0].parent
    (ingest / "done.json").unlink()
    for m in markers[3:]:
        m.unlink()
    kept = {m: m.stat().st_mtime_ns for m in markers[:3]}
    shutil.rmtree(tmp_path / "c" / "steps")
    again = Demo(inp, tmp_path / "o2.jsonl", cache_dir=tmp_path / "c", chunk_size=1000)
    again.chunk_bytes = 20_000
    again.run()
    assert read_jsonl(tmp_path / "o2.jsonl") == eager(data)
    assert {m: m.stat().st_mtime_ns for m in markers[:3]} == kept
    assert [json.loads(m.read_text())["bytes"] for m in markers] == ranges


def test_a_run_whose_ingest_files_are_gone_ingests_again_and_reuses_the_steps(tmp_path):
    data = [{"id": i, "text": f"word {i} and more words"} for i in range(50)]
    inp = write_jsonl(tmp_path / "in.jsonl", data)
    Demo(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c", chunk_size=10).run()
    ingest = next((tmp_path / "c" / "ingest").iterdir())
    for marker in [ingest / "done.json", *ingest.glob("chunk-*.json")]:
        marker.unlink()
    summary = Demo(inp, tmp_path / "o2.jsonl", cache_dir=tmp_path / "c", chunk_size=10).run()
    assert read_jsonl(tmp_path / "o2.jsonl") == read_jsonl(tmp_path / "o.jsonl") == eager(data)
    assert summary["chunks"] == 5 and (ingest / "done.json").exists()


@pytest.mark.parametrize("lines", [[], ['{"text": 1}', '{"text": 2}']], ids=["empty", "every-row-bad"])
def test_an_input_with_no_usable_rows_gives_an_empty_output(tmp_path, lines):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(line + "\n" for line in lines))
    pipe = Demo(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c", on_bad_input="skip")
    summary = pipe.run()
    assert (tmp_path / "o.jsonl").read_text() == ""
    assert summary["totals"]["rows_out"] == 0 and summary["totals"]["input_rejected"] == len(lines)


def test_values_survive_the_cache_unchanged(tmp_path):
    """Ints beside nulls stay ints, lists with nulls stay lists, huge ints and nested dicts survive."""
    data = [{"text": "a b", "n": 1, "l": [1, None], "big": 2**70, "d": {"k": [1, {"z": None}]}},
            {"text": "c d", "n": None, "l": [1, 2.5], "big": 9007199254740993, "d": {}},
            {"text": "e f", "n": 3, "l": [], "big": None, "d": {"other": True}}]
    inp = write_jsonl(tmp_path / "in.jsonl", data)

    class P(Pipeline):
        def __init__(self):
            super().__init__(inp, tmp_path / "o.jsonl", cache_dir=tmp_path / "c")
            self.a, self.b = Upper(), Checksum()

        def forward(self):
            self.a.run(self.storage)
            self.b.run(self.storage, output_key="sha")

    P().run()
    out = read_jsonl(tmp_path / "o.jsonl")
    assert [{k: r[k] for k in ("n", "l", "big", "d")} for r in out] == \
        [{k: r[k] for k in ("n", "l", "big", "d")} for r in data]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tabular_outputs_take_columns_and_types_from_every_chunk(tmp_path, fmt):
    data = [{"text": "a b", "x": None}, {"text": "c d", "x": None},  # chunk 1: x all null, no y
            {"text": "e f", "x": "late", "y": 1}, {"text": "g h", "x": "z", "y": 2.5}]
    inp = write_jsonl(tmp_path / "in.jsonl", data)
    out = tmp_path / f"o.{fmt}"

    class P(Pipeline):
        def __init__(self):
            super().__init__(inp, out, cache_dir=tmp_path / "c", chunk_size=2)
            self.op = Upper()

        def forward(self):
            self.op.run(self.storage)

    P().run()
    frame = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert list(frame.columns) == ["text", "x", "y"]
    assert frame["x"].tolist()[2:] == ["late", "z"] and frame["y"].tolist()[2:] == [1.0, 2.5]
