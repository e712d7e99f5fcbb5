"""Reading inputs record by record, writing outputs, and the parquet chunk format used by the cache.

Inputs: ``.jsonl`` (also ``.jsonl.gz``), ``.json`` (an array, or JSON lines), ``.csv``, ``.parquet`` and a
dataset directory saved by Hugging Face ``datasets`` (its ``.arrow`` files). Every record carries its
1-based line (jsonl, json lines) or row number, so errors and rejects point at the exact place.

Outputs (``.jsonl``, ``.json``, ``.csv``, ``.parquet``) hold what the rows hold:

- JSON outputs write every value as it is.
- CSV has no types: strings are written as they are, nulls as empty fields, lists and dicts as JSON text
  (``[1,2]``, ``{"a":1}``), numbers and booleans as pandas writes them (``2.5``, ``True``).
- Parquet needs one type per column, decided from every chunk before anything is written. A column keeps
  the Arrow type of its values when the chunks agree: nulls fit any type, integers beside floats become
  float64 when every integer is exact as a float, dicts become one struct with the union of their keys (a
  key a row lacks reads back as null). Any other mix (integers and strings, lists and scalars, booleans and
  integers, dicts and lists, lists of mixed contents, ...) makes a text column: strings unchanged, nulls
  null, every other value as compact JSON (``7`` -> ``"7"``, ``[1, 2]`` -> ``"[1,2]"``, ``True`` ->
  ``"true"``), with one warning naming the output, the column and the kinds of values it holds.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.bindings import ROW_ID, Column
from dataflow.core.errors import BadInputError

FORMATS = ("jsonl", "json", "csv", "parquet", "hf")

logger = logging.getLogger("dataflow")


@dataclass(slots=True)
class RawRecord:
    """One input record, or the reason it could not be parsed (``record`` is None then)."""

    number: int  # 1-based line (jsonl) or row number
    record: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None
    size: int = 0  # bytes it took in the input (an estimate for columnar formats), to size chunks


def detect_format(path: str | os.PathLike) -> str:
    p = Path(path)
    if p.is_dir():
        return "hf"
    name = p.name.lower()
    for suffix, fmt in ((".jsonl", "jsonl"), (".jsonl.gz", "jsonl"), (".ndjson", "jsonl"), (".json", "json"),
                        (".json.gz", "json"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"{path}: cannot tell the format from the name; use .jsonl, .json, .csv, .parquet "
                     "or a saved Hugging Face dataset directory")


def row_unit(fmt: str) -> str:
    return "line" if fmt in ("jsonl", "json") else "row"


def iter_records(path: str | os.PathLike, fmt: str | None = None, start: int = 0) -> Iterator[RawRecord]:
    """Yield every record of ``path`` in order, skipping the first ``start`` records."""
    fmt = fmt or detect_format(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"input file not found: {path}")
    reader = {"jsonl": _iter_jsonl, "json": _iter_json, "csv": _iter_csv, "parquet": _iter_parquet,
              "hf": _iter_hf}[fmt]
    it = reader(Path(path))
    for _ in range(start):
        if next(it, None) is None:
            return
    yield from it


def _open_text(path: Path):
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def iter_jsonl_lines(path: Path, start: int = 0) -> Iterator[tuple[int, str | None, str | None]]:
    """The records of a jsonl file unparsed: ``(line number, line, None)`` for every non-blank line, or
    ``(line number, None, reason)`` for a line that is not valid UTF-8, after skipping the first ``start``."""
    with _open_text(path) as f:
        number = 0
        while True:
            try:
                line = f.readline()
            except UnicodeDecodeError as exc:
                number += 1
                if start:
                    start -= 1
                    continue
                yield number, None, f"not valid UTF-8 ({exc.reason})"
                continue
            if not line:
                return
            number += 1
            if line.isspace():  # (no copy of a long line, unlike strip())
                continue
            if start:
                start -= 1
                continue
            yield number, line, None


def parse_jsonl_line(number: int, line: str | None, error: str | None, loads: Any = json.loads) -> RawRecord:
    """One item of :func:`iter_jsonl_lines` parsed."""
    if line is None:
        return RawRecord(number, None, error)
    try:
        value = loads(line)
    except ValueError as exc:
        return RawRecord(number, None, f"malformed JSON ({exc})", raw=line.rstrip("\n"))
    if not isinstance(value, dict):
        return RawRecord(number, None, f"expected a JSON object, got {type(value).__name__}",
                         raw=line.rstrip("\n"))
    return RawRecord(number, value, size=len(line))


def _iter_jsonl(path: Path) -> Iterator[RawRecord]:
    loads = _json_loads()
    for number, line, error in iter_jsonl_lines(path):
        yield parse_jsonl_line(number, line, error, loads)


def _iter_json(path: Path) -> Iterator[RawRecord]:
    with _open_text(path) as f:
        head = f.read(4096).lstrip()
    if not head.startswith("["):
        yield from _iter_jsonl(path)  # JSON lines saved as .json
        return
    with _open_text(path) as f:
        text = f.read()
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        yield RawRecord(exc.lineno, None, f"malformed JSON ({exc.msg}, column {exc.colno})")
        return
    for i, value in enumerate(values, start=1):
        if isinstance(value, dict):
            yield RawRecord(i, value, size=len(json.dumps(value, default=str)))
        else:
            yield RawRecord(i, None, f"expected a JSON object, got {type(value).__name__}",
                            raw=json.dumps(value)[:500])


def _iter_csv(path: Path) -> Iterator[RawRecord]:
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return
        for i, fields in enumerate(reader, start=1):
            if len(fields) != len(header):
                yield RawRecord(i, None, f"has {len(fields)} fields, the header has {len(header)}",
                                raw=",".join(fields)[:500])
                continue
            yield RawRecord(i, {k: _csv_value(v) for k, v in zip(header, fields)}, size=sum(map(len, fields)))


def _csv_value(text: str) -> Any:
    """CSV has no types: empty is null, numbers become numbers, the rest stays text."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
        return value if math.isfinite(value) else text
    except ValueError:
        return text


def _iter_arrow_batches(batches) -> Iterator[RawRecord]:
    number = 0
    for batch in batches:
        size = batch.nbytes // max(batch.num_rows, 1)
        for record in batch.to_pylist():
            number += 1
            yield RawRecord(number, record, size=size)


def _iter_parquet(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    yield from _iter_arrow_batches(pq.ParquetFile(path).iter_batches(batch_size=4096))


def _iter_hf(path: Path) -> Iterator[RawRecord]:
    import pyarrow as pa

    files = sorted(path.glob("*.arrow")) or sorted(path.glob("**/*.arrow"))
    if not files:
        raise ValueError(f"{path}: a directory input must be a saved Hugging Face dataset (*.arrow files)")

    def batches():
        for file in files:
            with pa.memory_map(str(file)) as source:
                try:
                    reader = pa.ipc.open_stream(source)
                except pa.ArrowInvalid:
                    reader = pa.ipc.open_file(source)
                    yield from (reader.get_batch(i) for i in range(reader.num_record_batches))
                    continue
                yield from reader

    yield from _iter_arrow_batches(batches())


def _json_loads():
    # The standard parser, not orjson: orjson turns integers beyond 64 bits into floats, silently.
    return json.loads


def _json_dumps():
    """Compact, UTF-8, key order kept; orjson when installed (several times faster)."""
    try:
        import orjson

        opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

        def dumps(value: Any) -> str:
            try:
                return orjson.dumps(value, option=opts, default=_json_default).decode()
            except TypeError:  # e.g. integers beyond 64 bits
                return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)

        return dumps
    except ImportError:
        return lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def peek_columns(path: str | os.PathLike, n: int = 1000) -> tuple[list[str], int]:
    """Columns seen in the first ``n`` parseable records (in first-seen order) and how many were read."""
    seen: dict[str, None] = {}
    count = 0
    for raw in iter_records(path):
        if raw.record is None:
            continue
        for key in raw.record:
            seen.setdefault(key, None)
        count += 1
        if count >= n:
            break
    return list(seen), count


# ---------------------------------------------------------------------------- validation
_TYPE_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple, np.ndarray)),
    "dict": lambda v: isinstance(v, dict),
}
_TYPE_WORDS = {"str": "a string", "number": "a number", "int": "an integer", "bool": "a boolean",
               "list": "a list", "dict": "an object"}


def check_record(record: dict[str, Any], required: dict[str, Column]) -> tuple[str, str] | None:
    """Return ``(column, reason)`` for the first required column the record lacks or mistypes."""
    for name, col in required.items():
        if name not in record:  # even for nullable columns: an absent key is a data error, a null is not
            return name, "column is missing"
        value = record[name]
        if type(value) is str:  # the common case, first: any dtype but a non-string one accepts it
            if col.dtype == "str" or col.dtype not in _TYPE_CHECKS:
                continue
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            if not col.nullable:
                return name, "value is null"
            continue
        check = _TYPE_CHECKS.get(col.dtype)
        if check is not None and not check(value):
            return name, f"expected {_TYPE_WORDS[col.dtype]}, got {_json_type(value)} {_short(value)}"
    return None


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "object"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def bad_input_error(path: str, fmt: str, raw: RawRecord, column: str | None, reason: str) -> BadInputError:
    return BadInputError(str(path), raw.number, reason, column=column, unit=row_unit(fmt))


# ---------------------------------------------------------------------------- frames
def records_to_frame(records: list[dict[str, Any]], row_ids: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.insert(0, ROW_ID, pd.Series(row_ids, dtype=object))
    for name in frame.columns:
        col = frame[name]
        # JSON integers with gaps would silently become floats (5 -> 5.0 in the output): keep them integers.
        if col.dtype == np.float64 and col.isna().any():
            first = next((r.get(name) for r in records if r.get(name) is not None), None)
            if isinstance(first, int) and not isinstance(first, bool):
                raw = [r.get(name) for r in records]
                if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in raw):
                    try:  # from the original values: a detour through float64 would round big ints
                        frame[name] = pd.array(raw, dtype="Int64")
                    except (OverflowError, TypeError, ValueError):
                        frame[name] = pd.Series(raw, dtype=object)
    return frame


_PLAIN_TYPES = (str, int, float, bool)
# orjson reads an integer beyond 64 bits as a float, the standard parser exactly: a float this large may be
# one, so its block goes line by line.
_BIG = float(2**63)


def jsonl_block_frame(items: list[tuple[int, str | None, str | None]], required: dict[str, Column]
                      ) -> pd.DataFrame | None:
    """The chunk frame of jsonl lines (items of :func:`iter_jsonl_lines`) parsed in one go, the same as
    :func:`records_to_frame` of the records the line-by-line path would give; None (nothing is reported)
    when any line is unreadable, not a JSON object, fails ``required``, or needs the standard parser."""
    try:
        import orjson
    except ImportError:
        return None
    lines = [line for _, line, _ in items]
    if None in lines:
        return None
    try:  # orjson refuses what the standard parser alone accepts (NaN, lone surrogates): line by line then
        records = [orjson.loads(line) for line in lines]
    except orjson.JSONDecodeError:
        return None
    if set(map(type, records)) != {dict}:
        return None
    row_ids = [str(number) for number, _, _ in items]
    frame = _uniform_frame(records, row_ids, required)
    if frame is not None:
        return frame
    try:
        if _has_big_float(records) or any(check_record(r, required) for r in records):
            return None
    except RecursionError:  # nesting deeper than Python's stack: the line-by-line path decides
        return None
    return records_to_frame(records, row_ids)


def _has_big_float(value: Any) -> bool:
    if type(value) is float:
        return abs(value) >= _BIG
    if type(value) is dict:
        value = value.values()
    elif type(value) is not list:
        return False
    return any(_has_big_float(v) for v in value)


def _uniform_frame(records: list[dict[str, Any]], row_ids: list[str], required: dict[str, Column]
                   ) -> pd.DataFrame | None:
    """The frame when every record has the same keys and every column one plain type (no nulls, no float
    that may be a big integer), built column by column; None otherwise."""
    keys = list(records[0]) if records else None
    if keys is None or set(map(len, records)) != {len(keys)}:
        return None
    columns: dict[str, list[Any]] = {}
    try:  # same number of keys and every key in every record: the same keys
        for name in keys:
            values = [r[name] for r in records]
            kinds = set(map(type, values))
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind not in _PLAIN_TYPES or (kind is float and max(map(abs, values)) >= _BIG):
                return None
            columns[name] = values
    except KeyError:
        return None
    for name, col in required.items():  # one type and no nulls: the first value answers for the column
        if name not in columns or check_record({name: columns[name][0]}, {name: col}):
            return None
    frame = pd.DataFrame(columns)
    frame.insert(0, ROW_ID, pd.Series(row_ids, dtype=object))
    return frame


_JSON_COLUMNS_KEY = b"dataflow.json_columns"


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a chunk as parquet, atomically. Columns Arrow would alter (dicts with varying keys become
    structs with padded nulls; mixed types fail) are stored as JSON text and restored by
    :func:`read_frame`, so a round trip never changes a value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    json_cols = [name for name in frame.columns if frame[name].dtype == object and _needs_json(frame[name])]
    out = frame
    if json_cols:
        out = frame.assign(**{c: [_to_json(v) for v in frame[c].tolist()] for c in json_cols})
    try:
        table = pa.Table.from_pandas(out, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        extra = [c for c in out.columns if out[c].dtype == object and c not in json_cols]
        json_cols += extra
        out = out.assign(**{c: [_to_json(v) for v in out[c].tolist()] for c in extra})
        table = pa.Table.from_pandas(out, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_JSON_COLUMNS_KEY] = json.dumps(json_cols).encode()
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Cache files are written once and read whole a few times: snappy, no dictionary pages and no column
    # statistics write a chunk in ~half of zstd's time with those (measured: 8 vs 15 ms for 10k short
    # rows), for files ~1.5x as large.
    pq.write_table(table, tmp, compression="snappy", use_dictionary=False, write_statistics=False)
    os.replace(tmp, path)


def read_frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A chunk written by :func:`write_frame` (``columns``: only these; one the file lacks raises
    ``pyarrow.ArrowInvalid``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # ParquetFile reads one file without read_table's dataset layer (~1 ms less per file, ~70 files a
    # report); unlike read_table it skips unknown columns silently, so they are checked here.
    with pq.ParquetFile(path) as parquet:
        if columns is not None:
            missing = [c for c in columns if c not in parquet.schema_arrow.names]
            if missing:
                raise pa.ArrowInvalid(f"{path}: no column {', '.join(missing)}")
        table = parquet.read(columns=columns)
    frame = table.to_pandas()
    json_cols = json.loads((table.schema.metadata or {}).get(_JSON_COLUMNS_KEY, b"[]"))
    for name in json_cols:
        if name in frame.columns:
            frame[name] = pd.Series([json.loads(v) if isinstance(v, str) else None for v in frame[name].tolist()],
                                    index=frame.index, dtype=object)
    for name in frame.columns:  # Arrow gives numpy arrays for lists; users expect lists
        col = frame[name]
        if col.dtype == object and len(col) and isinstance(_first_valid(col), np.ndarray):
            frame[name] = pd.Series([v.tolist() if isinstance(v, np.ndarray) else v for v in col.tolist()],
                                    index=frame.index, dtype=object)
    return frame


def _first_valid(col: pd.Series) -> Any:
    for v in col.tolist():
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            return v
    return None


def _needs_json(col: pd.Series) -> bool:
    """Object columns whose values Arrow would not give back unchanged: dicts (keys get padded), nested
    or gappy lists (None -> NaN, ints -> floats), integers beside missing values (-> floats)."""
    if pd.api.types.infer_dtype(col, skipna=False) == "string":  # all str (row ids, reasons): one pass in C
        return False
    has_int = has_missing = False
    for v in col.tolist():
        if isinstance(v, dict):
            return True
        if isinstance(v, (list, tuple)):
            kinds = {type(x) for x in v}
            if kinds & {dict, list, tuple, type(None)} or (int in kinds and float in kinds):
                return True
        elif isinstance(v, int) and not isinstance(v, bool):
            has_int = True
        elif v is None or (isinstance(v, float) and math.isnan(v)):
            has_missing = True
    return has_int and has_missing


def _to_json(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA:
        return None
    return str(value)


def frame_to_records(frame: pd.DataFrame, *, internal: bool = False) -> list[dict[str, Any]]:
    """Rows as plain JSON-able dicts (missing values -> None); internal ``_`` columns dropped unless asked."""
    names = [c for c in frame.columns if internal or not str(c).startswith("_")]
    columns = [_column_values(frame[c]) for c in names]
    return [dict(zip(names, row)) for row in zip(*columns)] if names else [{} for _ in range(len(frame))]


def _column_values(col: pd.Series) -> list[Any]:
    """A column as Python values with every kind of missing value as None, vectorised where possible."""
    if col.dtype == object:
        return [_clean(v) for v in col.tolist()]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":  # numpy ints/bools cannot be missing
        return col.tolist()
    return col.astype(object).where(col.notna(), None).tolist()


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    return value


# ---------------------------------------------------------------------------- output
def _arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)


def write_chunks(path: str | os.PathLike, chunk_paths: list[Path]) -> int:
    """Write the cached chunks (parquet files from :func:`write_frame`), in order, to the output ``path`` in
    the format its name says; returns the number of rows written. CSV and parquet take their columns from
    every chunk; parquet also its types (the rules are in the module docstring), so writing never fails
    half-way."""
    import pyarrow.parquet as pq

    fmt = detect_format(path)
    columns = schema = None
    text_columns: list[str] = []
    if fmt in ("csv", "parquet"):  # tabular formats need one header/schema for every chunk
        seen: dict[str, None] = {}
        for chunk in chunk_paths:
            for name in pq.read_schema(chunk).names:
                if not name.startswith("_"):
                    seen.setdefault(name, None)
        columns = list(seen)
        if fmt == "parquet":
            schema, text_columns = parquet_schema(chunk_paths, columns, path)
    writer = OutputWriter(path, fmt, columns=columns, schema=schema, text_columns=text_columns)
    for chunk in chunk_paths:
        writer.write(read_frame(chunk))
    writer.close()
    return writer.rows


def parquet_schema(chunk_paths: list[Path], columns: list[str], label: Any = "output") -> tuple[Any, list[str]]:
    """The Arrow schema the parquet output of these chunks gets, and the columns written as text.

    First pass: the type of each column in each chunk; the types must unify. Second pass, only for the
    columns whose chunks differ: every chunk must cast to the unified type without loss."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    errors = _arrow_errors()
    seen: dict[str, dict[str, None]] = {name: {} for name in columns}  # value kinds, for the warning
    types: dict[str, list[Any]] = {name: [] for name in columns}  # per chunk; None: the chunk itself mixes
    for chunk in chunk_paths:
        frame = read_frame(chunk)
        for name in columns:
            if name not in frame.columns:
                continue
            try:
                arrow_type = pa.array(frame[name], from_pandas=True).type
            except errors:
                arrow_type = None
                seen[name].update(dict.fromkeys(_value_kinds(frame[name])))
            else:
                seen[name].update(dict.fromkeys(_arrow_kinds(arrow_type)))
            types[name].append(arrow_type)
    target: dict[str, Any] = {}
    why: dict[str, str] = {}  # the columns written as text, and why

    def mixed(name: str) -> str:
        kinds = list(seen[name])
        if len(kinds) <= 1:
            return f"holds {kinds[0] if kinds else 'value'}s of mixed contents"
        return f"holds {', '.join(kinds[:-1])} and {kinds[-1]} values"

    for name in columns:
        if None in types[name]:  # a chunk mixes types itself
            why[name] = mixed(name)
            continue
        known = [t for t in types[name] if not pa.types.is_null(t)]
        try:
            target[name] = pa.unify_schemas([pa.schema([pa.field(name, t)]) for t in known] or
                                            [pa.schema([pa.field(name, pa.null())])],
                                            promote_options="permissive").field(name).type
        except errors:
            why[name] = mixed(name)
    differing = [name for name in target if len({t for t in types[name] if not pa.types.is_null(t)}) > 1]
    if differing:
        for chunk in chunk_paths:
            names = pq.read_schema(chunk).names
            present = [n for n in differing if n in target and n in names]
            if not present:
                continue
            frame = read_frame(chunk, columns=present)
            for name in present:
                try:
                    pa.array(frame[name], from_pandas=True).cast(target[name])
                except errors:
                    why[name] = f"{mixed(name)} that do not all fit {target.pop(name)}"
    text_columns = [name for name in columns if name not in target]
    for name in text_columns:
        logger.warning("%s: column %r %s; parquet needs one type per column, so it is written as text (strings "
                       "unchanged, other values as JSON text)", label, name, why[name])
    fields = [pa.field(name, target.get(name, pa.string())) for name in columns]
    return pa.schema(fields), text_columns


def _value_kinds(col: pd.Series) -> list[str]:
    """The JSON kinds of a column's values, in first-seen order (for messages)."""
    kinds: dict[str, None] = {}
    for value in _column_values(col):
        if value is not None:
            kinds.setdefault("list" if isinstance(value, (list, tuple)) else _json_type(value), None)
    return list(kinds)


def _arrow_kinds(arrow_type: Any) -> list[str]:
    import pyarrow as pa

    t = pa.types
    if t.is_null(arrow_type):
        return []
    for test, word in ((t.is_boolean, "boolean"), (t.is_integer, "integer"), (t.is_floating, "number"),
                       (t.is_string, "string"), (t.is_large_string, "string"), (t.is_struct, "object")):
        if test(arrow_type):
            return [word]
    if t.is_list(arrow_type) or t.is_large_list(arrow_type) or t.is_fixed_size_list(arrow_type):
        return ["list"]
    return [str(arrow_type)]


def _as_text(value: Any) -> str | None:
    """A value of a text column: strings unchanged, missing values null, the rest as compact JSON."""
    value = _clean(value)
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_cells(col: pd.Series) -> pd.Series:
    """A CSV column with its lists and dicts as JSON text (pandas would write Python's repr)."""
    if col.dtype != object:
        return col
    values = col.tolist()
    if not any(isinstance(v, (list, tuple, dict, np.ndarray)) for v in values):
        return col
    return pd.Series([_as_text(v) if isinstance(v, (list, tuple, dict, np.ndarray)) else v for v in values],
                     index=col.index, dtype=object)


def json_rows(frame: pd.DataFrame, sep: str = "\n") -> str | None:
    """The rows of ``frame``'s public columns as compact JSON joined by ``sep``, each the same text as
    orjson gives for the row's record (:func:`frame_to_records`), made a column at a time: each column is
    serialised as one list and cut into its values. None (the caller serialises record by record) without orjson, or when a column
    holds anything but strings alone or scalars (numbers, booleans, nulls), or a column name is not text."""
    try:
        import orjson
    except ImportError:
        return None
    names = [c for c in frame.columns if not str(c).startswith("_")]
    if not len(frame) or not names or not all(isinstance(c, str) for c in names):
        return None
    parts: list[bytes] = []
    columns: list[list[bytes]] = []
    try:
        for name in names:
            values = _column_values(frame[name])
            kinds = set(map(type, values))
            text = orjson.dumps(values)[1:-1]
            key = orjson.dumps(name).replace(b"%", b"%%")
            if kinds == {str}:  # within orjson's text a quote is escaped, so '","' only ever separates values
                parts.append(key + b':"%b"')
                columns.append(text[1:-1].split(b'","'))
            elif kinds <= {int, float, bool, type(None)}:  # no commas inside these values
                parts.append(key + b":%b")
                columns.append(text.split(b","))
            else:
                return None
    except TypeError:  # e.g. integers beyond 64 bits, lone surrogates: as the record path decides
        return None
    template = b"{" + b",".join(parts) + b"}"
    return sep.encode().join([template % row for row in zip(*columns)]).decode()


def encode_json_rows(frame: pd.DataFrame) -> str:
    """The frame's rows as jsonl text (no final newline), as the jsonl and json outputs write them."""
    if not len(frame):
        return ""
    text = json_rows(frame, "\n")
    if text is None:
        dumps = _json_dumps()
        text = "\n".join([dumps(record) for record in frame_to_records(frame)])
    return text


def write_json_rows(frame: pd.DataFrame, path: Path, rows_per_slice: int = 2000) -> None:
    """:func:`encode_json_rows` of ``frame`` into ``path`` (created with its folder), a slice of rows at a time
    so the text of a large chunk is never whole in memory; rows are separated by newlines, none at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for lo in range(0, len(frame), rows_per_slice):
            fh.write(("\n" if lo else "") + encode_json_rows(frame.iloc[lo:lo + rows_per_slice]))


def _remove_orphaned_temporaries(path: Path) -> None:
    """Delete ``.<name>.<pid>.tmp`` files next to ``path`` left by a writer whose process is gone (a run
    killed while streaming its output); a live writer's file, another run's, stays."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except OSError:  # alive (another user's process): not ours to touch
            pass


class OutputWriter:
    """Writes the pipeline's output chunk by chunk to a temporary file, then moves it into place."""

    def __init__(self, path: str | os.PathLike, fmt: str | None = None, *, columns: list[str] | None = None,
                 schema: Any = None, text_columns: list[str] | None = None):
        """``columns`` (csv, parquet), ``schema`` and ``text_columns`` (parquet): decided from all chunks
        (:func:`parquet_schema`), so a column that first appears in a later chunk, is all-null in the first
        or mixes types is written correctly."""
        self.path = Path(path)
        self.fmt = fmt or detect_format(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        _remove_orphaned_temporaries(self.path)
        self.rows = 0
        self._fh: Any = None
        self._parquet: Any = None
        self._columns: list[str] | None = columns
        self._schema = schema
        self._text_columns = list(text_columns or ())

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            self._write_parquet(frame)
        elif self.fmt == "csv":
            public = frame[[c for c in frame.columns if not str(c).startswith("_")]]
            json_text = {c: _json_cells(public[c]) for c in public.columns if public[c].dtype == object}
            public = public.assign(**{c: v for c, v in json_text.items() if v is not public[c]})
            if self._columns is None:
                self._columns = list(public.columns)
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
                public.reindex(columns=self._columns).to_csv(self._fh, index=False)
            else:
                public.reindex(columns=self._columns).to_csv(self._fh, index=False, header=False)
        else:
            self.write_text(encode_json_rows(frame), len(frame))
            return
        self.rows += len(frame)

    def write_text(self, text: str, rows: int) -> None:
        """Append ``rows`` rows already encoded by :func:`encode_json_rows` (jsonl and json only)."""
        self._open_json()
        if not rows:
            return
        if self.fmt == "json":  # a row's compact JSON holds no newline: each "\n" separates two rows
            self._fh.write(("\n" if self.rows == 0 else ",\n") + text.replace("\n", ",\n"))
        else:
            self._fh.write(text + "\n")
        self.rows += rows

    def append_rows_file(self, path: Path, rows: int) -> None:
        """Append ``rows`` rows that :func:`write_json_rows` wrote to ``path``, copied in blocks."""
        self._open_json()
        if not rows:
            return
        self._fh.flush()
        out = self._fh.buffer
        if self.fmt == "json":
            out.write(b"\n" if self.rows == 0 else b",\n")
        with open(path, "rb") as src:
            while block := src.read(1 << 22):
                out.write(block.replace(b"\n", b",\n") if self.fmt == "json" else block)
        if self.fmt == "jsonl":
            out.write(b"\n")
        self.rows += rows

    def _open_json(self) -> None:
        assert self.fmt in ("jsonl", "json"), self.fmt
        if self._fh is None:
            self._fh = open(self.tmp, "w", encoding="utf-8")
            if self.fmt == "json":
                self._fh.write("[")

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = public_table(frame, self._columns, self._text_columns)
        if self._schema is not None:
            schema = self._schema
            if self._parquet is None:  # pandas' metadata (pd.read_parquet gives Int64 back) from the first chunk
                schema = schema.with_metadata(_pandas_metadata(table.schema, schema))
            table = table.select(schema.names).cast(schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.tmp, table.schema)
        else:
            table = table.cast(self._parquet.schema)
        self._parquet.write_table(table)

    def close(self) -> Path:
        if self._parquet is not None:
            self._parquet.close()
        elif self._fh is not None:
            if self.fmt == "json":
                self._fh.write("\n]\n" if self.rows else "]\n")
            self._fh.close()
        elif self.fmt == "parquet":  # no chunks at all: still a valid parquet file, with no rows
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = self._schema if self._schema is not None else pa.schema([])
            pq.write_table(schema.empty_table(), self.tmp)
        else:  # no rows at all: still produce a valid, empty output
            with open(self.tmp, "w", encoding="utf-8") as fh:
                fh.write("[]\n" if self.fmt == "json" else "")
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file, leaving ``path`` as it was."""
        if self._parquet is not None:
            self._parquet.close()
        elif self._fh is not None:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)


def _pandas_metadata(first: Any, schema: Any) -> dict[bytes, bytes]:
    """The first chunk's schema metadata, where a column's pandas dtype is said only if that chunk's Arrow
    type is the output's (a first chunk of ``Int64`` must not make pandas read a float64 column as Int64)."""
    meta = dict(first.metadata or {})
    if b"pandas" not in meta:
        return meta
    pandas_meta = json.loads(meta[b"pandas"])
    changed = [entry for entry in pandas_meta.get("columns", [])
               if entry.get("field_name") in schema.names and entry.get("field_name") in first.names
               and first.field(entry["field_name"]).type != schema.field(entry["field_name"]).type]
    for entry in changed:
        entry.update(pandas_type="mixed", numpy_type="object", metadata=None)
    if changed:
        meta[b"pandas"] = json.dumps(pandas_meta).encode()
    return meta


def public_table(frame: pd.DataFrame, columns: list[str] | None = None, text_columns: list[str] | None = None
                 ) -> Any:
    """The user-visible columns of ``frame`` as an Arrow table; ``columns`` absent here become nulls and
    ``text_columns`` are written as text (strings unchanged, other values as JSON text)."""
    import pyarrow as pa

    public = frame[[c for c in frame.columns if not str(c).startswith("_")]].reset_index(drop=True)
    if columns is not None:
        for name in columns:
            if name not in public.columns:
                public[name] = pd.Series([None] * len(public), dtype=object)
        public = public[columns]
    text = [c for c in text_columns or () if c in public.columns]
    if text:
        public = public.assign(**{c: pd.Series([_as_text(v) for v in public[c].tolist()], dtype=object)
                                  for c in text})
    return pa.Table.from_pandas(public, preserve_index=False)
