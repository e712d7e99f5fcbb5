"""What a report shows, gathered from a run's cache directory (``run.json``, the step files, the markers).

Everything is read from files the engine already writes, and large runs are sampled so a report stays
cheap: score columns are read from chunks spread evenly over the run (no text), as many as hold about
``score_rows`` input rows and at most ``score_chunks``; rows shown as examples come from the first
``sample_chunks`` chunks. Counts (the funnel,
drop reasons, LLM statistics) are always exact: they come from ``run.json``.
"""

from __future__ import annotations

import difflib
import importlib
import json
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.bindings import DROP_REASON, REJECT_REASON, ROW_ID
from dataflow.core.cache import CacheLayout
from dataflow.core.fileio import frame_to_records, read_frame

TEXT_LIMIT = 600  # characters of a value shown in an example


@dataclass
class ScoreColumn:
    """One numeric column a step wrote: its values split by fate, and the kept interval if known."""

    step: int
    op: str
    column: str
    kept: np.ndarray
    dropped: np.ndarray
    chunks_read: int = 0  # of the run's chunks: fewer when the values are a sample
    low: float | None = None  # kept when value >= low
    high: float | None = None  # kept when value <= high
    bounds_known: bool = False  # False: the interval is where kept values were seen
    bounds_from: str = ""  # "params", "drop reasons", "kept values", or "" (a score without threshold)


@dataclass
class ReportData:
    summary: dict[str, Any]
    steps: list[dict[str, Any]]
    scores: list[ScoreColumn] = field(default_factory=list)
    refiner_samples: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    dedup_clusters: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    dropped_samples: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reject_reasons: dict[str, int] = field(default_factory=dict)


def operator_class(step: dict[str, Any]) -> type | None:
    """The step's operator class, from ``op_class`` ("module:QualName") or the registry; None if unknown."""
    path = step.get("op_class")
    if path and ":" in path and not path.split(":")[0].endswith(".py"):
        module, _, qual = path.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qual.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            pass
    from dataflow.core.registry import OPERATORS

    try:
        return OPERATORS.get(step["op"])
    except KeyError:
        return None


def step_kind(step: dict[str, Any]) -> str:
    cls = operator_class(step)
    return getattr(cls, "kind", "") or ""


class RunReader:
    """Reads a run's step files; ``frame_after(j, k)`` rebuilds chunk ``k`` as it was after step ``j``."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir)
        run_json = self.root / "run.json"
        if not run_json.exists():
            raise FileNotFoundError(f"no run.json in {self.root}: has the pipeline run there?")
        self.summary = json.loads(run_json.read_text())
        self.steps: list[dict[str, Any]] = self.summary.get("steps", [])
        self.chunks = int(self.summary.get("chunks", 0))
        self.layout = CacheLayout(self.root, self._input_fingerprint())
        self._markers: dict[tuple[int, int], dict[str, Any]] = {}
        # A reader lives for one report, so paths and whether a file exists are looked up once (the
        # score and example passes ask for the same files thousands of times).
        self._step_dirs: dict[int, Path] = {}
        self._files: dict[tuple[int, int, str], Path | None] = {}
        self._numeric: dict[Path, set[str]] = {}
        self._numbers: dict[Path, dict[str, np.ndarray]] = {}

    def _input_fingerprint(self) -> str:
        ingest = self.root / "ingest"
        done = [d for d in ingest.iterdir() if (d / "done.json").exists()] if ingest.exists() else []
        return max(done, key=lambda d: d.stat().st_mtime).name if done else ""

    def step_dir(self, step: dict[str, Any]) -> Path:
        index = step["index"]
        if index not in self._step_dirs:
            self._step_dirs[index] = self.layout.step_dir(index, step["op"], step["fingerprint"])
        return self._step_dirs[index]

    def marker(self, step: dict[str, Any], k: int) -> dict[str, Any]:
        key = (step["index"], k)
        if key not in self._markers:
            self._markers[key] = self.layout.read_step_marker(self.step_dir(step), k) or {}
        return self._markers[key]

    def numeric_columns(self, path: Path, columns: list[str]) -> list[str]:
        """Which of ``columns`` the parquet file holds as numbers (its schema, read once)."""
        numeric = self._numeric_names(path)
        return [c for c in columns if c in numeric]

    def numbers(self, path: Path, column: str) -> np.ndarray:
        """A numeric column of a parquet file as floats; the file's numeric columns are read together,
        once (a deferred step's values come from the same later files as its neighbours')."""
        if path not in self._numbers:
            import pyarrow.parquet as pq

            # ParquetFile reads one file without the dataset layer of read_table (~1 ms less per file)
            with pq.ParquetFile(path) as parquet:
                table = parquet.read(columns=sorted(self._numeric_names(path)), use_threads=False)
            self._numbers[path] = {name: table.column(name).to_numpy(zero_copy_only=False).astype(float)
                                   for name in table.column_names}
        return self._numbers[path][column]

    def forget_numbers(self) -> None:
        self._numbers.clear()

    def _numeric_names(self, path: Path) -> set[str]:
        if path not in self._numeric:
            self._numeric[path] = set(_numeric_columns(path, None))
        return self._numeric[path]

    def value_files(self, step: dict[str, Any], k: int, column: str) -> list[Path] | None:
        """The files whose ``column`` together holds its values after ``step`` on chunk ``k``: the step's
        own file, or for a deferred step the drops and rejects of the later steps up to the next stored
        one and that one's rows; None when they are gone or a later step rewrote the column."""
        if self.marker(step, k).get("stored", True) is not False:
            path = self.file(step, k)
            return None if path is None else [path]
        files: list[Path] = []
        for later in self.steps[step["index"]:]:
            marker = self.marker(later, k)
            if column in marker.get("written", []):
                return None
            files += [p for what in ("dropped", "rejected") if (p := self.file(later, k, what)) is not None]
            if marker.get("stored", True) is not False:
                path = self.file(later, k)
                full = marker.get("full") and not marker.get("rows_changed")
                return files + [path] if full and path is not None else None
        return None

    def file(self, step: dict[str, Any], k: int, what: str = "") -> Path | None:
        key = (step["index"], k, what)
        if key not in self._files:
            path = self.layout.step_file(self.step_dir(step), k, what)
            self._files[key] = path if path.exists() else None
        return self._files[key]

    def frame_after(self, j: int, k: int, columns: list[str] | None = None) -> pd.DataFrame | None:
        """Chunk ``k`` after step ``j`` (``j = 0``: as ingested), or None when its files are gone;
        ``columns``: only these (and the row id), so a text column need not be read for a score."""
        if j > 0 and self.marker(self.steps[j - 1], k).get("stored", True) is False:
            return self._deferred_frame_after(j, k, columns)
        start, frame = 0, None
        for step in reversed(self.steps[:j]):
            if self.marker(step, k).get("full"):
                path = self.file(step, k)
                if path is None:
                    return None
                frame, start = _read(path, columns), step["index"]
                break
        if frame is None:
            path = self.layout.ingest_chunk(k)
            if not path.exists():
                return None
            frame = _read(path, columns)
        for step in self.steps[start:j]:
            path = self.file(step, k)
            if path is None:
                return None
            written = [c for c in self.marker(step, k).get("written", []) if columns is None or c in columns]
            delta = read_frame(path, columns=[ROW_ID, *written])
            if len(delta) != len(frame):
                keep = set(delta[ROW_ID].tolist())
                frame = frame[frame[ROW_ID].isin(keep)]
            frame = frame.reset_index(drop=True)
            for c in written:
                if len(delta) == len(frame):
                    frame[c] = delta[c].array  # positional, and no conversion of a string column to objects and back
        return frame


    def _deferred_frame_after(self, j: int, k: int, columns: list[str] | None) -> pd.DataFrame | None:
        """Chunk ``k`` after step ``j``, a deferred step (no file of its own): the rows the later steps up
        to the next stored one (included) dropped or rejected, then the rows that step kept; columns written after
        step ``j`` are left out (their values after ``j`` are not kept), and so is every row when that step
        changed rows. Rows come in that order, not the chunk's."""
        parts: list[pd.DataFrame] = []
        later_written: set[str] = set()

        def wanted() -> list[str] | None:
            return None if columns is None else [c for c in columns if c not in later_written]

        for step in self.steps[j:]:
            marker = self.marker(step, k)
            later_written.update(marker.get("written", []))
            stored = marker.get("stored", True) is not False
            if stored and marker.get("rows_changed"):
                return None
            for what in ("dropped", "rejected"):
                path = self.file(step, k, what)
                if path is not None:
                    parts.append(_read(path, wanted()))
            if stored:
                frame = self.frame_after(step["index"], k, wanted())
                if frame is None:
                    return None
                parts.append(frame)
                break
        else:
            return None
        internal = {DROP_REASON, REJECT_REASON, "_step"}
        frames = [f.drop(columns=[c for c in f.columns if c in later_written or c in internal]) for f in parts]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read(path: Path, columns: list[str] | None) -> pd.DataFrame:
    if columns is None:
        return read_frame(path)
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return read_frame(path, columns=[ROW_ID, *(c for c in columns if c in names and c != ROW_ID)])


def collect(cache_dir: str | Path, *, sample_chunks: int = 2, examples: int = 5, rejects: int = 50,
            score_chunks: int = 40, score_rows: int = 20_000) -> ReportData:
    """Everything a report shows about the run in ``cache_dir`` (the limits: see the module docstring)."""
    reader = RunReader(cache_dir)
    steps = [dict(s, kind=step_kind(s)) for s in reader.steps]
    data = ReportData(reader.summary, steps)
    n = reader.chunks
    rows_per_chunk = (reader.summary.get("totals") or {}).get("rows_in", 0) / max(n, 1)
    if rows_per_chunk:  # a histogram of ~20,000 values shows the distribution: more only cost reads
        score_chunks = min(score_chunks, max(1, -(-score_rows // round(rows_per_chunk))))
    spread = sorted({round(i * (n - 1) / max(score_chunks - 1, 1)) for i in range(score_chunks)}) if n > score_chunks \
        else list(range(n))
    for step in steps:
        data.scores += _scores(reader, step, spread)
        if reader.marker(step, spread[0] if spread else 0).get("stored", True) is not False:
            reader.forget_numbers()  # the steps after a stored one read other files
        if step["kind"] == "refine":
            data.refiner_samples[step["index"]] = _refined(reader, step, sample_chunks, examples)
        if step["kind"] == "dedup" or (reader.step_dir(step) / "decision.pkl").exists():
            clusters = _clusters(reader, step, sample_chunks, examples)
            if clusters is not None:
                data.dedup_clusters[step["index"]] = clusters
        if sum(step.get("dropped", {}).values()):
            data.dropped_samples[step["index"]] = _dropped(reader, step, sample_chunks, examples)
    data.rejects, data.reject_reasons = _rejects(reader, rejects)
    return data


def clip(value: Any, limit: int = TEXT_LIMIT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + " …"


# ---------------------------------------------------------------------------- score columns
def _bounds(step: dict[str, Any]) -> tuple[float | None, float | None, bool]:
    """The kept interval of a range filter: read from an instance built with the step's params (only a
    :class:`RangeFilter` is built: its constructor only stores its bounds)."""
    from dataflow.core.operator import RangeFilter

    cls = operator_class(step)
    if not (isinstance(cls, type) and issubclass(cls, RangeFilter)):
        return None, None, False
    try:
        op = cls(**(step.get("params") or {}))
    except Exception:  # noqa: BLE001 - a step we cannot rebuild here still gets its histogram
        return None, None, False
    low, high = getattr(op, "min_value", None), getattr(op, "max_value", None)
    if low is None and high is None:
        return None, None, False
    return low, high, True


_BOUND_REASON = re.compile(r"^\S+ ?(<|>) ?(-?\d+(?:\.\d+)?(?:e-?\d+)?)$")


def _bounds_from_reasons(dropped: dict[str, int]) -> tuple[float | None, float | None, bool]:
    """Bounds named by drop reasons such as ``"quality < 3"`` (how range-like filters word them)."""
    low = high = None
    for reason in dropped:
        match = _BOUND_REASON.match(reason.strip())
        if match:
            value = float(match.group(2))
            if match.group(1) == "<":
                low = value if low is None else max(low, value)
            else:
                high = value if high is None else min(high, value)
    return low, high, low is not None or high is not None


def _numeric_columns(path: Path, columns: list[str] | None) -> list[str]:
    """Which of ``columns`` (None: all) the parquet file holds as numbers (its schema only: no data is read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    return [c for c in (schema.names if columns is None else columns) if c in schema.names
            and (pa.types.is_integer(schema.field(c).type) or pa.types.is_floating(schema.field(c).type))]


def _scores(reader: RunReader, step: dict[str, Any], chunks: list[int]) -> list[ScoreColumn]:
    written: list[str] = []
    numeric: list[str] = []
    for k in chunks:
        written = reader.marker(step, k).get("written", [])
        files = [reader.value_files(step, k, c) for c in written]
        if any(files):
            # a refiner's text column is never read here
            numeric = [c for c, f in zip(written, files) if f and reader.numeric_columns(f[-1], [c])]
            break
    out = []
    for column in numeric:
        kept, dropped = [], []
        for k in chunks:
            for path in reader.value_files(step, k, column) or ():
                if reader.numeric_columns(path, [column]):
                    kept.append(reader.numbers(path, column))
            path = reader.file(step, k, "dropped")
            if path is not None and reader.numeric_columns(path, [column]):
                dropped.append(reader.numbers(path, column))
        if not kept and not dropped:
            continue
        kept_values = np.concatenate(kept) if kept else np.zeros(0)
        dropped_values = np.concatenate(dropped) if dropped else np.zeros(0)
        low, high, known = _bounds(step)
        source = "params" if known else ""
        if not known:
            low, high, known = _bounds_from_reasons(step.get("dropped", {}))
            source = "drop reasons" if known else ""
        if not known and len(kept_values) and len(dropped_values):  # a filter without declared bounds
            finite = kept_values[np.isfinite(kept_values)]
            if len(finite):
                low, high, source = float(finite.min()), float(finite.max()), "kept values"
        out.append(ScoreColumn(step["index"], step["op"], column, kept_values, dropped_values, len(chunks),
                               low, high, known, source))
    return out


# ---------------------------------------------------------------------------- examples
def _refined(reader: RunReader, step: dict[str, Any], sample_chunks: int, examples: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for k in range(min(reader.chunks, sample_chunks)):
        written = reader.marker(step, k).get("written", [])
        if not written:
            continue
        after_path = reader.file(step, k)
        after = (read_frame(after_path, columns=[ROW_ID, *written]) if after_path is not None
                 else reader.frame_after(step["index"], k, written))  # a deferred step: rebuilt
        before = reader.frame_after(step["index"] - 1, k, written) if after is not None else None
        if before is None:
            continue
        after = after.set_index(ROW_ID)
        before = before.set_index(ROW_ID)
        for column in written:
            if column not in before.columns or column not in after.columns:
                continue
            old_values = dict(zip(before.index.tolist(), before[column].tolist()))
            for rid, new in zip(after.index.tolist(), after[column].tolist()):
                old = old_values.get(rid)
                if isinstance(old, str) and isinstance(new, str) and old != new:
                    found.append({"row_id": str(rid), "column": column, "before": old, "after": new,
                                  "changes": _changes(old, new)})
                    if len(found) >= examples:
                        return found
    return found


def _changes(old: str, new: str) -> list[tuple[str, str, str]]:
    """(tag, old piece, new piece) of what differs, word by word (a word with the whitespace after it, so
    a whitespace change shows on its word; ~30x faster than diffing spaces as tokens of their own)."""
    a, b = split_words(old), split_words(new)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [(tag, "".join(a[i1:i2]), "".join(b[j1:j2])) for tag, i1, i2, j1, j2 in ops]


def split_words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _clusters(reader: RunReader, step: dict[str, Any], sample_chunks: int, examples: int
              ) -> list[dict[str, Any]] | None:
    path = reader.step_dir(step) / "decision.pkl"
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            decision = pickle.load(fh)  # noqa: S301 - written by this run's own engine
    except Exception:  # noqa: BLE001
        return None
    representative = decision.get("representative") if isinstance(decision, dict) else None
    if not isinstance(representative, dict):
        return None
    groups: dict[str, list[str]] = defaultdict(list)
    for row, rep in representative.items():
        if row != rep:
            groups[rep].append(row)
    chosen = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:examples]
    wanted = {r for rep, rows in chosen for r in (rep, *rows)}
    column = (step.get("bindings") or {}).get("input_key", "text")
    texts: dict[str, Any] = {}
    for k in range(reader.chunks):  # the step's input: every chunk, only the rows of the chosen clusters
        frame = reader.frame_after(step["index"] - 1, k, [column]) if wanted - set(texts) else None
        if frame is None:
            break
        if column in frame.columns:
            hits = frame[frame[ROW_ID].astype(str).isin(wanted)]
            texts.update(zip(hits[ROW_ID].astype(str), hits[column]))
    mode_drops_all = (step.get("params") or {}).get("mode") == "drop_all"
    return [{"kept": None if mode_drops_all else {"row_id": rep, "text": texts.get(rep)},
             "removed": [{"row_id": r, "text": texts.get(r)} for r in ([rep] if mode_drops_all else []) + rows],
             "size": len(rows) + 1, "column": column}
            for rep, rows in chosen]


def _dropped(reader: RunReader, step: dict[str, Any], sample_chunks: int, examples: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k in range(reader.chunks):
        path = reader.file(step, k, "dropped")
        if path is None:
            continue
        for rec in frame_to_records(read_frame(path).head(examples - len(out)), internal=True):
            out.append({"row_id": str(rec.pop(ROW_ID, "")), "reason": rec.pop(DROP_REASON, None),
                        "record": {c: v for c, v in rec.items() if not c.startswith("_")}})
        if len(out) >= examples or k + 1 >= sample_chunks:
            break
    return out


def _rejects(reader: RunReader, limit: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    path = Path(reader.summary.get("rejects") or reader.layout.rejects)
    if not path.is_absolute():
        path = reader.root / path.name
    shown: list[dict[str, Any]] = []
    reasons: dict[str, int] = defaultdict(int)
    if not path.exists():
        return shown, {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            where = f"step {rec['step']} {rec.get('op', '')}" if rec.get("step") is not None else "input"
            reasons[f"{where}: {rec.get('reason')}"] += 1
            if len(shown) < limit:
                shown.append(rec)
    return shown, dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
