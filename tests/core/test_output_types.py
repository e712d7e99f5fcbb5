"""Outputs hold what the rows hold: columns whose values mix types, across rows or across chunks, get the
documented conversion in parquet and CSV outputs (no traceback after the run), and JSON outputs keep every
value as it is."""

from __future__ import annotations

import csv
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataflow.core.fileio import OutputWriter
from dataflow.core.pipeline import Pipeline
from tests.core.conftest import read_jsonl, write_jsonl
from tests.core.sample_ops import Upper

BIG = 2**60  # an integer float64 cannot hold exactly

# Six rows in chunks of two: a value that only appears in the last chunk is seen after two chunks were
# cached. Per column: the input values, the parquet type and values read back, the CSV cells read back.
COLUMNS = {
    "int_str": ([1, 2, "x", 4, 5, 6], pa.string(), ["1", "2", "x", "4", "5", "6"], ["1", "2", "x", "4", "5", "6"]),
    "late_str": ([1, 2, 3, 4, "five", "six"], pa.string(), ["1", "2", "3", "4", "five", "six"],
                 ["1", "2", "3", "4", "five", "six"]),
    "list_scalar": ([[1, 2], 3, [4], "a", None, []], pa.string(), ["[1,2]", "3", "[4]", "a", None, "[]"],
                    ["[1,2]", "3", "[4]", "a", "", "[]"]),
    "bool_int": ([True, 1, False, 0, 1, 1], pa.string(), ["true", "1", "false", "0", "1", "1"],
                 ["True", "1", "False", "0", "1", "1"]),
    "dict_list": ([{"a": 1}, [1, 2], {"b": "x"}, [], None, {"a": [1]}], pa.string(),
                  ['{"a":1}', "[1,2]", '{"b":"x"}', "[]", None, '{"a":[1]}'],
                  ['{"a":1}', "[1,2]", '{"b":"x"}', "[]", "", '{"a":[1]}']),
    "nulls_int_str": ([None, None, 1, None, "y", None], pa.string(), [None, None, "1", None, "y", None],
                      ["", "", "1", "", "y", ""]),
    "int_null_str": ([1, None, "a", "b", 3, 4], pa.string(), ["1", None, "a", "b", "3", "4"],
                     ["1", "", "a", "b", "3", "4"]),
    "big_int_float": ([BIG, 1, 0.5, 0.25, 1.5, 2.5], pa.string(), [str(BIG), "1", "0.5", "0.25", "1.5", "2.5"],
                      [str(BIG), "1", "0.5", "0.25", "1.5", "2.5"]),
    # Columns that keep a type.
    "ints": ([1, None, 3, 4, 5, 6], pa.int64(), [1, None, 3, 4, 5, 6], ["1", "", "3", "4", "5", "6"]),
    "int_float": ([1, 2, 3, 4, 2.5, 0.5], pa.float64(), [1.0, 2.0, 3.0, 4.0, 2.5, 0.5],
                  ["1", "2", "3", "4", "2.5", "0.5"]),
    "int_null_float": ([1, None, 2.5, 3.5, 4, 5], pa.float64(), [1.0, None, 2.5, 3.5, 4.0, 5.0],
                       ["1", "", "2.5", "3.5", "4", "5"]),
    "dicts": ([{"a": 1}, {"a": 2}, {"b": "x"}, {"a": None}, None, {"a": 3, "b": "y"}],
              pa.struct([("a", pa.int64()), ("b", pa.string())]),
              [{"a": 1, "b": None}, {"a": 2, "b": None}, {"a": None, "b": "x"}, {"a": None, "b": None}, None,
               {"a": 3, "b": "y"}],
              ['{"a":1}', '{"a":2}', '{"b":"x"}', '{"a":null}', "", '{"a":3,"b":"y"}']),
    "lists": ([[1], [2, 3], [], [4.5], None, [6]], pa.list_(pa.float64()), [[1.0], [2.0, 3.0], [], [4.5], None, [6.0]],
              ["[1]", "[2,3]", "[]", "[4.5]", "", "[6]"]),
}
TEXT_COLUMNS = {name for name, (_, typ, _, _) in COLUMNS.items() if typ == pa.string()}


def input_rows() -> list[dict]:
    return [{"text": f"row {i}", **{name: spec[0][i] for name, spec in COLUMNS.items()}} for i in range(6)]


def run(inp, out, cache) -> dict:
    class UpperText(Pipeline):
        def __init__(self):
            super().__init__(inp, out, cache_dir=cache, chunk_size=2)
            self.upper = Upper()

        def forward(self):
            self.upper.run(self.storage, input_key="text")

    return UpperText().run()


class UpperText(Pipeline):
    def forward(self):
        Upper().run(self.storage, input_key="text")


def test_rows_encoded_by_the_workers_are_the_bytes_the_driver_writes(tmp_path):
    """With the local pool, the workers encode the final chunks of jsonl and json outputs; written by the
    driver from the same cached chunks (``write_output``), the files are byte-identical."""
    from dataflow.core.results import write_output

    inp = write_jsonl(tmp_path / "in.jsonl", input_rows())
    for fmt in ("jsonl", "json"):
        out, cache = tmp_path / f"out.{fmt}", tmp_path / f"c-{fmt}"
        UpperText(inp, out, cache_dir=cache, chunk_size=2, workers=2).run()
        chunks = sorted(p for p in cache.glob("steps/01-*/*/chunk-*.parquet") if p.name.count(".") == 1)
        assert len(chunks) == 3
        assert write_output(tmp_path / f"driver.{fmt}", chunks) == 6
        assert out.read_bytes() == (tmp_path / f"driver.{fmt}").read_bytes()
        assert not (cache / "output-parts").exists()  # the workers' encoded parts, removed once appended


def read_csv(path) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def text_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "written as text" in r.getMessage()]


def test_parquet_output_converts_mixed_columns_to_text_and_keeps_the_rest(tmp_path, caplog):
    inp = write_jsonl(tmp_path / "in.jsonl", input_rows())
    with caplog.at_level(logging.WARNING, logger="dataflow"):
        summary = run(inp, tmp_path / "out.parquet", tmp_path / "c")
    assert summary["chunks"] == 3 and summary["totals"]["rows_out"] == 6
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["text", *COLUMNS]
    assert table.column("text").to_pylist() == [f"ROW {i}" for i in range(6)]
    for name, (_, arrow_type, values, _) in COLUMNS.items():
        assert table.schema.field(name).type == arrow_type, name
        assert table.column(name).to_pylist() == values, name
    # pandas reads it back too: its dtypes come from the first chunk only where that chunk's type is kept.
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert str(frame["ints"].dtype) == "Int64" and frame["ints"].tolist()[:2] == [1, pd.NA]
    assert frame["int_null_float"].tolist()[2:] == [2.5, 3.5, 4.0, 5.0]
    assert frame["int_null_str"].tolist()[2:] == ["a", "b", "3", "4"]
    warnings = text_warnings(caplog)
    assert len(warnings) == len(TEXT_COLUMNS)  # once per converted column, none for the others
    for name in TEXT_COLUMNS:
        assert sum(f"column {name!r}" in w for w in warnings) == 1, name
    by_column = {name: w for name in TEXT_COLUMNS for w in warnings if f"column {name!r}" in w}
    assert "out.parquet" in by_column["int_str"] and "integer and string values" in by_column["int_str"]
    assert "list, integer and string values" in by_column["list_scalar"]
    assert "do not all fit double" in by_column["big_int_float"]


def test_csv_output_writes_lists_and_dicts_as_json_text(tmp_path, caplog):
    inp = write_jsonl(tmp_path / "in.jsonl", input_rows())
    with caplog.at_level(logging.WARNING, logger="dataflow"):
        run(inp, tmp_path / "out.csv", tmp_path / "c")
    cells = read_csv(tmp_path / "out.csv")
    assert list(cells) == ["text", *COLUMNS]
    for name, (*_, expected) in COLUMNS.items():
        assert cells[name] == expected, name
    assert text_warnings(caplog) == []  # CSV is all text: nothing is converted, nothing to warn about


def test_json_outputs_keep_every_value_as_it_is(tmp_path):
    rows = input_rows()
    inp = write_jsonl(tmp_path / "in.jsonl", rows)
    run(inp, tmp_path / "out.jsonl", tmp_path / "c")
    expected = [{**row, "text": row["text"].upper()} for row in rows]
    out = read_jsonl(tmp_path / "out.jsonl")
    assert out == expected
    assert [type(r["int_str"]) for r in out] == [int, int, str, int, int, int]
    assert out[0]["big_int_float"] == BIG and out[5]["bool_int"] == 1 and out[0]["bool_int"] is True


def test_csv_input_with_strings_in_a_late_chunk_of_an_integer_column(tmp_path, caplog):
    """The case a new user meets first: an id column of numbers, with text ids further down the file."""
    inp = tmp_path / "in.csv"
    inp.write_text("text,ref\na b,1\nc d,2\ne f,3\ng h,4\ni j,A-5\nk l,\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="dataflow"):
        run(inp, tmp_path / "out.parquet", tmp_path / "c")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("ref").type == pa.string()
    assert table.column("ref").to_pylist() == ["1", "2", "3", "4", "A-5", None]
    assert [w for w in text_warnings(caplog) if "column 'ref'" in w]
    run(inp, tmp_path / "out.csv", tmp_path / "c")
    assert read_csv(tmp_path / "out.csv")["ref"] == ["1", "2", "3", "4", "A-5", ""]
    run(inp, tmp_path / "out.jsonl", tmp_path / "c")
    assert [r["ref"] for r in read_jsonl(tmp_path / "out.jsonl")] == [1, 2, 3, 4, "A-5", None]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_an_output_of_no_chunks_is_a_valid_empty_file(tmp_path, fmt):
    path = OutputWriter(tmp_path / f"out.{fmt}").close()
    if fmt == "parquet":
        assert pq.read_table(path).num_rows == 0
    else:
        assert path.read_text() == ""


TRICKY_TEXT = ["", "a", '","', 'x\\', '\\"', '"', 'end\\",\\"', "caf\u00e9 \U0001f600", "tab\tnl\n%s %b", ",", '",']


@pytest.mark.parametrize("frame,column_wise", [
    (pd.DataFrame({"text": TRICKY_TEXT, "n": range(len(TRICKY_TEXT)),
                   "x": [0.1, -0.0, 1e16, 2.5e-300, 3.0, 1e300, float("nan"), 7.0, 0.5, 1.0, 2.0]}), True),
    (pd.DataFrame({"%s": ["a", "b"], 'k"ey': [True, False], "_hidden": [1, 2],
                   "mixed": pd.Series([1, None], dtype=object), "n": pd.array([1, None], dtype="Int64")}), True),
    # the record path: strings beside nulls, lists and dicts, integers orjson refuses
    (pd.DataFrame({"text": pd.Series(["a", None], dtype="str")}), False),
    (pd.DataFrame({"text": ["a", "b"], "tags": [["x"], []], "meta": [{"k": 1}, {}]}), False),
    (pd.DataFrame({"big": pd.Series([2**70, 1], dtype=object)}), False),
])
def test_json_rows_are_the_records_as_orjson_writes_them(frame, column_wise):
    pytest.importorskip("orjson")
    from dataflow.core.fileio import _json_dumps, frame_to_records, json_rows

    dumps = _json_dumps()
    expected = "\n".join(dumps(record) for record in frame_to_records(frame))
    got = json_rows(frame)
    assert got == (expected if column_wise else None)
