from __future__ import annotations

import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.operators.core_text.json_extractor import JsonFieldExtractor, get_path, parse_json_text


def test_parses_fenced_embedded_and_plain_json():
    assert parse_json_text('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_text('Sure! Here it is: {"a": {"b": [1, 2]}} Hope that helps.') == {"a": {"b": [1, 2]}}
    assert parse_json_text("[1, 2]") == [1, 2]
    assert parse_json_text({"already": "parsed"}) == {"already": "parsed"}
    with pytest.raises(ValueError):
        parse_json_text("no json here")


def test_paths_reach_into_lists_and_name_the_missing_part():
    assert get_path({"a": [{"b": 3}]}, "a.0.b") == 3
    with pytest.raises(KeyError, match="'c'"):
        get_path({"a": {}}, "a.c")


def test_extracts_fields_and_rejects_rows_without_required_ones():
    rows = [
        {"generated_content": '{"score": 4, "tags": ["x", "y"]}'},
        {"generated_content": "not json at all"},
        {"generated_content": '{"tags": ["z"]}'},
        {"generated_content": '{"score": 2}'},
    ]
    s = DataFrameStorage(rows)
    JsonFieldExtractor(fields={"score": "score", "first_tag": "tags.0"}, required=["score"]).run(s)
    assert s.frame["score"].tolist() == [4, 2]
    assert [r["first_tag"] for r in s.to_records()] == ["x", None]
    reasons = s.rejected[0]["_reject_reason"].tolist()
    assert reasons[0].startswith("ValueError: no JSON value found")
    assert reasons[1] == "KeyError: no 'score' in 'score'"
