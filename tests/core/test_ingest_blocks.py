"""Ingest of jsonl in parsed blocks: the same chunks, rows, values, types and rejects as line by line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dataflow.core import fileio, ingest
from dataflow.core.bindings import InputColumn
from dataflow.core.cache import CacheLayout, read_json
from dataflow.core.fileio import iter_jsonl_lines, jsonl_block_frame, read_frame, records_to_frame

pytest.importorskip("orjson")

TEXT = {"text": InputColumn("text")}


def items(lines: list[str]) -> list[tuple[int, str | None, str | None]]:
    return [(i, line + "\n", None) for i, line in enumerate(lines, start=1)]


def line_by_line(lines: list[str]) -> pd.DataFrame:
    return records_to_frame([json.loads(line) for line in lines], [str(i) for i in range(1, len(lines) + 1)])


@pytest.mark.parametrize("lines", [
    ['{"id": 1, "text": "a", "score": 0.5, "ok": true}', '{"text": "b", "ok": false, "score": 2.0, "id": 2}'],
    ['{"text": "a", "n": 1}', '{"text": "b", "n": 2.5}'],  # ints beside floats
    ['{"text": "a", "n": 1}', '{"text": "b", "n": null}'],  # gappy ints stay integers
    ['{"text": "a", "tags": ["x"], "meta": {"k": 1}}', '{"text": "b", "tags": [], "meta": {}}'],
    ['{"text": "a", "extra": 1}', '{"text": "b"}'],  # keys differ
    ['{"text": "a", "v": 1}', '{"text": "b", "v": "1"}'],  # mixed types
    ['{"text": "caf\\u00e9 \\ud83d\\ude00", "n": -0, "x": 1e5, "y": -0.0}', '{"text": "\u00fc", "n": 7, "x": 0.1, "y": 3}'],
    ['{"text": "a", "text": "b", "n": 1}', '{"text": "c", "n": 9223372036854775}'],  # duplicate key: the last
])
def test_a_block_gives_the_frame_of_the_line_by_line_path(lines):
    frame = jsonl_block_frame(items(lines), TEXT)
    assert frame is not None
    expected = line_by_line(lines)
    assert list(frame.columns) == list(expected.columns)
    assert frame.dtypes.to_dict() == expected.dtypes.to_dict()
    assert frame.equals(expected)


@pytest.mark.parametrize("lines", [
    ['{"text": "a", "n": 18446744073709551616}'],  # beyond 64 bits: orjson would give a float
    ['{"text": "a", "n": -9223372036854775809}'],
    ['{"text": "a", "n": [1, {"m": 18446744073709551616}]}'],
    ['{"text": "a", "n": NaN}'],
    ['{"text": "\\ud800"}'],  # a lone surrogate
    ['{"text": "a"}', '[1, 2]'],
    ['{"text": "a"}', '{"text": broken}'],
    ['{"text": "a"}', '{"other": "b"}'],  # a required column missing
    ['{"text": "a"}', '{"text": 5}'],  # of the wrong type
    ['{"text": null}'],
])
def test_a_block_that_needs_the_standard_parser_or_reports_goes_line_by_line(lines):
    assert jsonl_block_frame(items(lines), TEXT) is None


def ingest_all(tmp_path, name, text, monkeypatch, *, blocks: bool, **kw):
    path = tmp_path / "in.jsonl"
    path.write_text(text)
    if not blocks:
        monkeypatch.setattr(ingest, "jsonl_block_frame", lambda *a: None)
    layout = CacheLayout(tmp_path / name, "fp")
    n = ingest.ingest(layout, path, "jsonl", TEXT, **kw)
    monkeypatch.undo()
    chunks = [(read_frame(layout.ingest_chunk(k)), read_json(layout.ingest_marker(k)),
               layout.ingest_rejects(k).read_text() if layout.ingest_rejects(k).exists() else None)
              for k in range(n)]
    return chunks


@pytest.mark.parametrize("chunk_size,chunk_bytes", [(4, 1 << 20), (100, 60), (3, 45)])
def test_chunks_markers_and_rejects_match_the_line_by_line_path(tmp_path, monkeypatch, chunk_size, chunk_bytes):
    good = [json.dumps({"text": f"row {i}", "n": i}) for i in range(1, 30)]
    lines = good[:5] + ["", '{"text": broken'] + good[5:12] + ["   ", '{"text": 3}'] + good[12:] + ["[1]"]
    text = "\n".join(lines) + "\n"
    kw = {"chunk_size": chunk_size, "chunk_bytes": chunk_bytes, "on_bad_input": "skip"}
    fast = ingest_all(tmp_path, "fast", text, monkeypatch, blocks=True, **kw)
    slow = ingest_all(tmp_path, "slow", text, monkeypatch, blocks=False, **kw)
    assert len(fast) == len(slow) > 2
    for (f_frame, f_marker, f_rejects), (s_frame, s_marker, s_rejects) in zip(fast, slow):
        assert f_frame.equals(s_frame) and f_frame.dtypes.to_dict() == s_frame.dtypes.to_dict()
        assert f_marker == s_marker
        assert f_rejects == s_rejects


def test_resume_skips_the_records_already_ingested(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n  \n{"text": "c"}\n')
    got = list(iter_jsonl_lines(path, start=1))
    assert got == [(3, '{"text": "b"}\n', None), (5, '{"text": "c"}\n', None)]
    assert [(r.number, r.record) for r in fileio.iter_records(path, "jsonl", start=1)] == [
        (3, {"text": "b"}), (5, {"text": "c"})]


def ingest_parts(tmp_path, name, data: bytes, **kw):
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(data)
    layout = CacheLayout(tmp_path / name, "fp")
    parts = list(ingest.jsonl_parts(layout, path, "jsonl", TEXT, **kw))
    for part in parts:
        part.ingest(layout)
    return layout, parts


def rows_and_rejects(layout, n):
    frames = [read_frame(layout.ingest_chunk(k)) for k in range(n)]
    rows = [r for f in frames for r in fileio.frame_to_records(f, internal=True)]
    rejects = [json.loads(line) for k in range(n) if layout.ingest_rejects(k).exists()
               for line in layout.ingest_rejects(k).read_text().splitlines()]
    return rows, rejects


@pytest.mark.parametrize("chunk_size,chunk_bytes", [(4, 1 << 20), (100, 60), (1000, 1 << 20)])
def test_jsonl_parts_give_the_rows_and_rejects_of_the_record_path(tmp_path, chunk_size, chunk_bytes):
    good = [json.dumps({"text": f"row {i} caf\u00e9", "n": i}, ensure_ascii=False) for i in range(1, 30)]
    lines = good[:5] + ["", '{"text": broken'] + good[5:12] + ["   ", '{"text": 3}'] + good[12:20] + ["[1]"]
    data = ("\n".join(lines) + "\n" + "\r\n".join(good[20:25]) + "\r\n\n\n" + "\n".join(good[25:])).encode()
    kw = {"chunk_size": chunk_size, "chunk_bytes": chunk_bytes, "on_bad_input": "skip"}
    layout, parts = ingest_parts(tmp_path, "parts", data, **kw)
    assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]] and parts[-1].end == len(data)
    assert all(sum(1 for line in data[p.start:p.end].split(b"\n") if line.strip()) <= chunk_size for p in parts)
    (tmp_path / "records.jsonl").write_bytes(data)
    records = CacheLayout(tmp_path / "records", "fp")
    n = ingest.ingest(records, tmp_path / "records.jsonl", "jsonl", TEXT, **kw)
    got, want = rows_and_rejects(layout, len(parts)), rows_and_rejects(records, n)
    assert got[0] == want[0] and len(got[0]) == 29
    strip = lambda rejects: [{k: v for k, v in r.items() if k not in ("source", "error")} for r in rejects]  # noqa: E731
    assert strip(got[1]) == strip(want[1]) and [r["line"] for r in got[1]] == [7, 16, 25]


def test_jsonl_parts_name_the_line_that_is_not_utf8_and_raise_by_default(tmp_path):
    data = b'{"text": "a"}\n{"text": "\xff"}\n{"text": "c"}\n'
    layout, parts = ingest_parts(tmp_path, "skip", data, chunk_size=10, chunk_bytes=1 << 20, on_bad_input="skip")
    rows, rejects = rows_and_rejects(layout, len(parts))
    assert [r["text"] for r in rows] == ["a", "c"] and [(r["line"], r["reason"][:19]) for r in rejects] == [
        (2, "not valid UTF-8 (in")]
    path = tmp_path / "error.jsonl"
    path.write_bytes(data)
    layout = CacheLayout(tmp_path / "error", "fp")
    (part,) = list(ingest.jsonl_parts(layout, path, "jsonl", TEXT, chunk_size=10, chunk_bytes=1 << 20,
                                      on_bad_input="error"))
    with pytest.raises(fileio.BadInputError, match=r"error.jsonl: line 2: not valid UTF-8") as caught:
        part.ingest(layout)
    import pickle  # raised in a worker, re-raised in the driver: it survives pickling whole

    again = pickle.loads(pickle.dumps(caught.value))
    assert (str(again), again.row, again.reason) == (str(caught.value), 2, caught.value.reason)
