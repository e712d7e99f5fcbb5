import json

import pandas as pd
import pytest

from dataflow.agent import profile as profile_mod
from dataflow.agent.profile import profile_data

ROWS = [
    {"text": "The cat sat on the mat and it was happy with the world.", "score": 3, "lang": "en", "tags": ["a"]},
    {"text": "Le chat est sur le tapis.", "score": 4.5, "lang": None, "tags": []},
    {"text": "Кошка сидит на ковре.", "score": None, "lang": "ru", "tags": ["b", "c"]},
    {"text": "def f(x):\n    return x + 1", "score": 1, "lang": "", "tags": None},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_columns_types_nulls_and_examples(tmp_path):
    prof = profile_data(write_jsonl(tmp_path / "d.jsonl", ROWS))
    assert (prof.rows, prof.rows_exact, prof.format) == (4, True, "jsonl")
    assert prof.column_names == ["text", "score", "lang", "tags"]
    score, lang, tags, text = (prof.column(n) for n in ("score", "lang", "tags", "text"))
    assert score.type == "number" and score.null_share == 0.25 and score.range == (1, 4.5)
    assert lang.type == "str" and lang.null_share == 0.5  # None and "" both count as missing
    assert tags.type == "list"
    assert text.type == "str" and text.chars["min"] == len("Кошка сидит на ковре.")
    assert text.words["max"] == 13
    assert set(text.scripts) == {"latin", "cyrillic"}
    assert len(text.examples) == 3 and all(len(json.loads(e)) <= profile_mod.EXAMPLE_CHARS + 3 for e in text.examples)


def test_language_and_content_hints(tmp_path):
    english = [{"t": "This is one of the documents that we keep for the corpus and it has words."}] * 5
    prof = profile_data(write_jsonl(tmp_path / "en.jsonl", english))
    assert prof.column("t").english > 0.3 and "looks English" in prof.to_text()
    code = [{"c": "import os\ndef main():\n    return os.getcwd()"}] * 5
    assert profile_data(write_jsonl(tmp_path / "c.jsonl", code)).column("c").hints == ["code"]
    html = [{"h": "<div><p>hello <a href='https://x.org'>x</a></p></div>"}] * 3
    assert profile_data(write_jsonl(tmp_path / "h.jsonl", html)).column("h").hints == ["html", "url"]


def test_row_count_beyond_the_sample_is_counted_or_estimated(tmp_path, monkeypatch):
    rows = [{"text": f"row {i}"} for i in range(250)]
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    prof = profile_data(path, sample_rows=50)
    assert (prof.rows, prof.rows_exact, prof.sampled) == (250, True, 50)
    monkeypatch.setattr(profile_mod, "EXACT_COUNT_BYTES", 10)  # too big to count: estimated from sizes
    monkeypatch.setattr(profile_mod, "EXACT_PARSE_BYTES", 10)
    prof = profile_data(path, sample_rows=50)
    assert not prof.rows_exact and 200 <= prof.rows <= 300
    assert "estimated" in prof.to_text()


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_other_formats(tmp_path, suffix):
    frame = pd.DataFrame({"question": ["What is 2+2?", "Name a colour."] * 30, "n": list(range(60))})
    path = tmp_path / f"d.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "parquet":
        frame.to_parquet(path)
    else:
        path.write_text(json.dumps(frame.to_dict("records")), encoding="utf-8")
    prof = profile_data(path, sample_rows=20)
    assert prof.column("n").type == "int" and prof.column("question").type == "str"
    assert (prof.rows, prof.rows_exact) == (60, True)


def test_big_csv_is_estimated(tmp_path, monkeypatch):
    monkeypatch.setattr(profile_mod, "EXACT_PARSE_BYTES", 10)
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": [f"line number {i:04d}" for i in range(400)]}).to_csv(path, index=False)
    prof = profile_data(path, sample_rows=40)
    assert not prof.rows_exact and 360 <= prof.rows <= 440


def test_unreadable_records_are_counted_and_text_is_compact(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n', encoding="utf-8")
    prof = profile_data(path)
    assert prof.bad_records == 1 and prof.rows == 3
    text = prof.to_text()
    assert text.splitlines()[0].startswith("data: bad.jsonl (jsonl), 3 rows, 1 unreadable")
    assert "- a: int; 0% null; range 1..2" in text
    assert prof.as_dict()["columns"][0]["name"] == "a"
