"""Ingest: validate the input and split it into parquet chunks in the cache.

A chunk closes at ``chunk_size`` records or ``chunk_bytes`` of input, whichever comes first, so memory
stays bounded for long documents too. Each chunk's marker records the input records it covers, so an
interrupted ingest continues exactly after the last complete chunk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from dataflow.core.bindings import Column
from dataflow.core.cache import CacheLayout, atomic_json, read_json
from dataflow.core.chunk_runner import release_memory
from dataflow.core.fileio import (
    bad_input_error,
    check_record,
    iter_records,
    records_to_frame,
    row_unit,
    write_frame,
)


def ingest(layout: CacheLayout, input_path: Path, fmt: str, required: dict[str, Column], *, chunk_size: int,
           chunk_bytes: int, on_bad_input: str) -> int:
    """Ingest ``input_path`` (once; later calls read the count); returns the number of chunks."""
    done = read_json(layout.ingest_done)
    if done is not None:
        return done["chunks"]
    layout.ingest_dir.mkdir(parents=True, exist_ok=True)
    k, start = 0, 0
    while (marker := read_json(layout.ingest_marker(k))) is not None:
        start = marker["end"]
        k += 1
    unit = row_unit(fmt)
    records: list[dict[str, Any]] = []
    row_ids: list[str] = []
    rejects: list[dict[str, Any]] = []
    seen = size = 0
    for raw in iter_records(input_path, fmt, start=start):
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
            err = bad_input_error(str(input_path), fmt, raw, problem[0], problem[1])
            if on_bad_input != "skip":
                raise err
            rejects.append({"step": 0, "op": "input", "source": str(input_path), unit: raw.number,
                            "column": problem[0], "reason": err.reason, "error": str(err),
                            "raw": raw.raw if raw.record is None else raw.record})
        else:
            records.append(raw.record)
            row_ids.append(str(raw.number))
        if seen == chunk_size or size >= chunk_bytes:
            start += seen
            _write_chunk(layout, k, required, records, row_ids, rejects, end=start)
            k, seen, size, records, row_ids, rejects = k + 1, 0, 0, [], [], []
    if seen or k == 0:
        _write_chunk(layout, k, required, records, row_ids, rejects, end=start + seen)
        k += 1
    atomic_json(layout.ingest_done, {"chunks": k})
    return k


def _write_chunk(layout: CacheLayout, k: int, required: dict[str, Column], records: list, row_ids: list,
                 rejects: list, *, end: int) -> None:
    frame = records_to_frame(records, row_ids)
    for name in required:  # a chunk with no valid rows still has the columns steps read
        if name not in frame.columns:
            frame[name] = pd.Series([], dtype=object)
    write_frame(frame, layout.ingest_chunk(k))
    if rejects:
        path = layout.ingest_rejects(k)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in rejects:
                fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, path)
    atomic_json(layout.ingest_marker(k), {"rows": len(frame), "rejected": len(rejects), "end": end})
    del frame
    release_memory()
