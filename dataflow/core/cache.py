"""The cache directory of a run: where every file lives, how it is written, and the run's event log.

Layout::

    ingest/<input fp>/chunk-00007.parquet        validated input rows of chunk 7
                     /chunk-00007.rejects.jsonl  input records that failed validation (skip mode)
                     /chunk-00007.json           marker: rows, rejects, the input records it covers
                     /done.json                  the number of chunks, once ingest is complete
    steps/03-WordNumberFilter/<step fp>/chunk-00007.parquet          the step's output for chunk 7
                                       /chunk-00007.dropped.parquet  rows it removed, with the reason
                                       /chunk-00007.rejected.parquet rows it could not process
                                       /chunk-00007.json             marker: completion and statistics
                                       /scan-00007.pkl, decision.pkl, barrier.json   (dataset steps)
    run.json, rejects.jsonl, events.jsonl

Every file is written to a temporary name and renamed into place, and a chunk's marker is written
last: a chunk either has a complete result or is recomputed. ``events.jsonl`` is appended to (one JSON
object a line, each line a single ``write``) by the driver and every worker as chunks finish, so a UI, a
cluster driver or ``tail -f`` can follow a run from outside the process.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any


def chunk_name(k: int) -> str:
    return f"chunk-{k:05d}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, json.dumps(payload, default=str).encode())


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or was cut short."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class CacheLayout:
    """Paths of one run's cache directory. Small and picklable: chunk tasks carry it to workers."""

    def __init__(self, root: str | Path, input_fingerprint: str) -> None:
        self.root = Path(root)
        self.input_fingerprint = input_fingerprint

    def __reduce__(self):
        return (CacheLayout, (str(self.root), self.input_fingerprint))

    # ------------------------------------------------------------------ ingest
    @property
    def ingest_dir(self) -> Path:
        return self.root / "ingest" / self.input_fingerprint

    def ingest_chunk(self, k: int) -> Path:
        return self.ingest_dir / f"{chunk_name(k)}.parquet"

    def ingest_marker(self, k: int) -> Path:
        return self.ingest_dir / f"{chunk_name(k)}.json"

    def ingest_rejects(self, k: int) -> Path:
        return self.ingest_dir / f"{chunk_name(k)}.rejects.jsonl"

    @property
    def ingest_done(self) -> Path:
        return self.ingest_dir / "done.json"

    # ------------------------------------------------------------------ steps
    def step_dir(self, index: int, name: str, fingerprint: str) -> Path:
        return self.root / "steps" / f"{index:02d}-{name}" / fingerprint

    def step_file(self, step_dir: Path, k: int, what: str = "") -> Path:
        """``what``: "" (the rows), "dropped" or "rejected"."""
        return step_dir / f"{chunk_name(k)}{'.' + what if what else ''}.parquet"

    def step_marker(self, step_dir: Path, k: int) -> Path:
        return step_dir / f"{chunk_name(k)}.json"

    def read_step_marker(self, step_dir: Path, k: int) -> dict[str, Any] | None:
        return read_json(self.step_marker(step_dir, k))

    def scan_state(self, step_dir: Path, k: int) -> Path:
        return step_dir / f"scan-{k:05d}.pkl"

    def decision(self, step_dir: Path) -> Path:
        return step_dir / "decision.pkl"

    def barrier_timing(self, step_dir: Path) -> Path:
        return step_dir / "barrier.json"

    def output_parts(self, run_id: str | None = None) -> Path:
        """Where the workers of run ``run_id`` (None: of every run) leave encoded output chunks."""
        parts = self.root / "output-parts"
        return parts if run_id is None else parts / run_id

    def output_part(self, run_id: str, k: int) -> Path:
        """Chunk ``k``'s final rows as jsonl text, encoded by a worker of run ``run_id`` for the driver to
        append to the output (removed once appended; see ``results.OutputStream``)."""
        return self.output_parts(run_id) / f"{chunk_name(k)}.jsonl"

    # ------------------------------------------------------------------ run-level files
    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def rejects(self) -> Path:
        return self.root / "rejects.jsonl"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    def emit(self, event: str, **fields: Any) -> None:
        """Append one event line; a single ``write`` on an O_APPEND file, so lines of concurrent writers
        never interleave."""
        line = json.dumps({"t": round(time.time(), 3), "event": event, **fields}, default=str) + "\n"
        fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def dump_pickle(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def load_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def follow_events(path: str | Path, *, start: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Events appended to ``path`` since byte offset ``start``, and the offset to read from next (a line
    still being written is left for the next call)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
    except FileNotFoundError:
        return [], start
    end = data.rfind(b"\n") + 1
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, start + end
