"""A run's results, gathered from the cached chunks: the output file and ``rejects.jsonl``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dataflow.core.bindings import REJECT_REASON, ROW_ID
from dataflow.core.cache import CacheLayout
from dataflow.core.fileio import frame_to_records, read_frame, write_chunks


def write_output(output_path: Path | None, chunk_paths: list[Path]) -> int:
    """Write the final chunks, in order, to ``output_path`` (see :func:`~dataflow.core.fileio.write_chunks`
    for how each format holds mixed-type columns); returns the number of rows."""
    if output_path is None:  # only the count: parquet metadata holds it, no need to read the rows
        import pyarrow.parquet as pq

        return sum(pq.read_metadata(p).num_rows for p in chunk_paths)
    return write_chunks(output_path, chunk_paths)


def write_rejects(layout: CacheLayout, n_chunks: int, steps: list) -> int:
    """Collect the input rejects and every step's rejected rows into ``rejects.jsonl``; returns the count.

    ``steps`` have ``index``, ``name`` and ``fingerprint``."""
    path = layout.rejects
    tmp = path.with_name(".rejects.jsonl.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for k in range(n_chunks):
            ingest_rejects = layout.ingest_rejects(k)
            if ingest_rejects.exists():
                for line in ingest_rejects.read_text(encoding="utf-8").splitlines():
                    fh.write(line + "\n")
                    count += 1
        for step in steps:
            step_dir = layout.step_dir(step.index, step.name, step.fingerprint)
            for k in range(n_chunks):
                file = layout.step_file(step_dir, k, "rejected")
                if not file.exists():
                    continue
                for rec in frame_to_records(read_frame(file), internal=True):
                    entry = {"step": step.index, "op": step.name, "row_id": rec.pop(ROW_ID, None),
                             "reason": rec.pop(REJECT_REASON, None)}
                    rec.pop("_step", None)
                    entry["record"] = rec
                    fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                    count += 1
    os.replace(tmp, path)
    return count
