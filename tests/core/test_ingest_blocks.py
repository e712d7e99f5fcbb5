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
