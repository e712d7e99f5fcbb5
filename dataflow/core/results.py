"""A run's results, gathered from the cached chunks: the output file and ``rejects.jsonl``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dataflow.core.bindings import REJECT_REASON, ROW_ID
from dataflow.core.cache import CacheLayout
from dataflow.core.fileio import OutputWriter, detect_format, frame_to_records, read_frame, write_chunks


@dataclass(frozen=True)
class EncodedRows:
    """A final chunk's rows encoded for a jsonl or json output by the worker that finished the chunk, in the
    file ``path`` (:func:`~dataflow.core.fileio.write_json_rows`), so the driver only copies it."""

    path: str
    rows: int


def write_output(output_path: Path | None, chunk_paths: list[Path]) -> int:
    """Write the final chunks, in order, to ``output_path`` (see :func:`~dataflow.core.fileio.write_chunks`
    for how each format holds mixed-type columns); returns the number of rows."""
    if output_path is None:  # only the count: parquet metadata holds it, no need to read the rows
        import pyarrow.parquet as pq

        return sum(pq.read_metadata(p).num_rows for p in chunk_paths)
    return write_chunks(output_path, chunk_paths)


class OutputStream:
    """The output file written while the last segment still runs: each final chunk is appended, in chunk
    order, as soon as it and every chunk before it are done, so the driver writes while the workers work.

    The rows go to the writer's temporary file, moved into place by :meth:`finish`: a run stopped before
    that leaves the output as it was, and a resumed run writes it again from the cached chunks. Formats
    that need every chunk before the first row (csv's header, parquet's schema), a run without an output
    file and an output name of unknown format are written by :meth:`finish`, as :func:`write_output` does.
    """

    def __init__(self, output_path: Path | None, chunk_paths: list[Path]) -> None:
        self.output_path, self.chunk_paths = output_path, chunk_paths
        self._done = [False] * len(chunk_paths)
        self._next = 0  # chunks before it are written
        self._writer: OutputWriter | None = None
        try:
            streamed = output_path is not None and detect_format(output_path) not in ("csv", "parquet")
        except ValueError:  # raised where write_output raises it, after the run
            streamed = False
        self.streamed = streamed
        self._encoded: dict[int, EncodedRows] = {}

    def mark_done(self, k: int) -> None:
        """Chunk ``k``'s final file is complete (cached before), to be written with the next chunk that
        completes, so nothing delays starting the others."""
        self._done[k] = True

    def chunk_done(self, k: int, encoded: EncodedRows | None = None) -> None:
        """Chunk ``k``'s final file is complete (``encoded``: its rows, encoded by the worker): write it, and
        the chunks after it that are complete too, once every chunk before it is written."""
        self._done[k] = True
        if not self.streamed:
            return
        if isinstance(encoded, EncodedRows):
            self._encoded[k] = encoded
        while self._next < len(self.chunk_paths) and self._done[self._next]:
            if self._writer is None:
                assert self.output_path is not None
                self._writer = OutputWriter(self.output_path)
            rows = self._encoded.pop(self._next, None)
            if rows is not None:
                self._writer.append_rows_file(Path(rows.path), rows.rows)
                Path(rows.path).unlink(missing_ok=True)
            else:
                self._writer.write(read_frame(self.chunk_paths[self._next]))
            self._next += 1

    def finish(self) -> int:
        """Write what is left (every chunk is complete by now), move the file into place; returns the rows."""
        if not self.streamed:
            return write_output(self.output_path, self.chunk_paths)
        for k in range(self._next, len(self.chunk_paths)):
            self.chunk_done(k)
        if self._writer is None:  # no chunks: the writer still leaves a valid, empty file
            assert self.output_path is not None
            self._writer = OutputWriter(self.output_path)
        self._writer.close()
        return self._writer.rows

    def discard(self) -> None:
        """Remove the partial temporary file of a run that failed."""
        if self._writer is not None:
            self._writer.discard()
            self._writer = None


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
