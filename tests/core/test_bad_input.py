"""Bad input: a one-line error naming file, line and column; or, with skip, a rejects file."""

from __future__ import annotations

import json

import yaml

from tests.core.conftest import dataflow_cli, read_jsonl

OPS = "tests.core.sample_ops"


def make_project(tmp_path, lines, **extra):
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    spec = {"input": "in.jsonl", "output": "out.jsonl", "chunk_size": 4,
            "steps": [{"op": f"{OPS}:Upper"}, {"op": f"{OPS}:WordCount", "params": {"min_words": 1}}], **extra}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "spec.yaml"


GOOD = [json.dumps({"text": f"row {i}"}) for i in range(1, 11)]


def test_malformed_line_7_is_named_and_run_fails(tmp_path):
    lines = GOOD[:6] + ['{"text": "broken", }'] + GOOD[7:]
    spec = make_project(tmp_path, lines)
    proc = dataflow_cli("run", str(spec), "--no-progress")
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()[0]
    assert "in.jsonl: line 7: malformed JSON" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_skip_puts_line_7_in_rejects_and_processes_the_rest(tmp_path):
    lines = GOOD[:6] + ['{"text": "broken", }'] + GOOD[7:]
    spec = make_project(tmp_path, lines)
    proc = dataflow_cli("run", str(spec), "--on-bad-input", "skip", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["text"] for r in out] == [f"ROW {i}" for i in (1, 2, 3, 4, 5, 6, 8, 9, 10)]
    rejects = read_jsonl(tmp_path / ".dataflow" / "spec" / "rejects.jsonl")
    assert len(rejects) == 1
    assert rejects[0]["line"] == 7 and rejects[0]["reason"].startswith("malformed JSON")
    assert rejects[0]["raw"] == '{"text": "broken", }'
    assert "rejected" in proc.stdout


def test_missing_column_and_wrong_type_name_the_column(tmp_path):
    lines = GOOD[:2] + [json.dumps({"title": "no text"})] + GOOD[3:]
    proc = dataflow_cli("run", str(make_project(tmp_path, lines)), "--no-progress")
    assert proc.returncode != 0
    assert "in.jsonl: line 3, column 'text': column is missing" in proc.stderr

    lines = GOOD[:4] + [json.dumps({"text": 42})] + GOOD[5:]
    proc = dataflow_cli("run", str(make_project(tmp_path, lines)), "--no-progress")
    assert proc.returncode != 0
    assert "in.jsonl: line 5, column 'text': expected a string, got integer 42" in proc.stderr


def test_csv_rows_with_wrong_field_count_are_named(tmp_path):
    (tmp_path / "in.csv").write_text("text,n\nok one,1\nbad,2,extra\nok two,3\n")
    spec = {"input": "in.csv", "output": "out.jsonl", "on_bad_input": "skip", "steps": [{"op": f"{OPS}:Upper"}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    proc = dataflow_cli("run", str(tmp_path / "spec.yaml"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["OK ONE", "OK TWO"]
    rejects = read_jsonl(tmp_path / ".dataflow" / "spec" / "rejects.jsonl")
    assert rejects[0]["row"] == 2 and "3 fields" in rejects[0]["reason"]


def test_rows_an_operator_cannot_process_go_to_rejects(tmp_path):
    lines = [json.dumps({"text": t}) for t in ["fine", "BOOM", "good"]]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    spec = {"input": "in.jsonl", "output": "out.jsonl", "steps": [{"op": f"{OPS}:Explode"}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    proc = dataflow_cli("run", str(tmp_path / "spec.yaml"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["fine", "good"]
    rejects = read_jsonl(tmp_path / ".dataflow" / "spec" / "rejects.jsonl")
    assert rejects == [{"step": 1, "op": "Explode", "row_id": "2", "reason": "ValueError: cannot handle 'BOOM'",
                        "record": {"text": "BOOM"}}]
    proc = dataflow_cli("inspect", str(tmp_path / "spec.yaml"), "--row", "2")
    assert "rejected at step 1 (Explode)" in proc.stdout
