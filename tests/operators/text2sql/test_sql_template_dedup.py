"""SQLTemplateDeduplicateFilter: first query of each literal-masked template, per database, across chunks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sqlglot")

from dataflow.core.pipeline import Pipeline  # noqa: E402
from dataflow.operators.text2sql.sql_template_dedup import SQLTemplateDeduplicateFilter  # noqa: E402
from dataflow.testing import run_operator  # noqa: E402

ROWS = [
    {"SQL": "SELECT name FROM singer WHERE age > 30", "db_id": "a"},
    {"SQL": 'select Name from "Singer" where AGE > 41', "db_id": "a"},     # same template as row 1
    {"SQL": "SELECT name FROM singer WHERE age > 30", "db_id": "b"},       # another database
    {"SQL": "SELECT name FROM singer WHERE age < 30", "db_id": "a"},       # another operator
    {"SQL": 'SELECT name FROM singer WHERE country = "France"', "db_id": "a"},
    {"SQL": "SELECT name FROM singer WHERE country = 'Spain'", "db_id": "a"},  # same as row 5
    {"SQL": "SELECT name FROM", "db_id": "a"},
]


def test_keeps_first_per_template_and_database():
    result = run_operator(SQLTemplateDeduplicateFilter(), ROWS, input_db_id_key="db_id")
    assert result.kept_ids == ["1", "3", "4", "5"]
    assert result.drop_reasons == ["duplicate SQL template of row 1", "duplicate SQL template of row 5"]
    assert result.kept[0]["sql_template"] == "SELECT name FROM singer WHERE age > ?"
    assert result.kept[3]["sql_template"] == "SELECT name FROM singer WHERE country = ?"
    assert len(result.rejected) == 1 and result.reject_reasons[0].startswith("sql parse error:")
    assert result.metrics["removed"] == 2 and result.metrics["templates"] == 4


def test_without_db_binding_and_with_aliases():
    result = run_operator(SQLTemplateDeduplicateFilter(), ROWS[:3])
    assert result.kept_ids == ["1"]  # databases not told apart
    rows = [{"SQL": "SELECT T1.name FROM singer AS T1 WHERE T1.age > 3"},
            {"SQL": "SELECT singer.name FROM singer WHERE singer.age > 9"}]
    assert run_operator(SQLTemplateDeduplicateFilter(), rows).kept_ids == ["1", "2"]
    assert run_operator(SQLTemplateDeduplicateFilter(strip_aliases=True), rows).kept_ids == ["1"]


class _DedupPipeline(Pipeline):
    def __init__(self, input, output, **kw):
        super().__init__(input, output, **kw)
        self.dedup = SQLTemplateDeduplicateFilter()

    def forward(self):
        self.dedup.run(self.storage, input_sql_key="SQL", input_db_id_key="db_id")


def test_across_chunks_in_a_pipeline(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS * 2))
    out = tmp_path / "out.jsonl"
    summary = _DedupPipeline(src, out, cache_dir=tmp_path / "cache", chunk_size=3).run()
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["SQL"] for r in kept] == [ROWS[i]["SQL"] for i in (0, 2, 3, 4)]
    step = summary["steps"][0]
    assert step["dropped"]["duplicate SQL template of row 1"] == 3
    rejects = [json.loads(line) for line in (tmp_path / "cache" / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == 2
