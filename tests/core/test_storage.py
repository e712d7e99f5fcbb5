"""Input and output on an S3-compatible server (moto, on 127.0.0.1): a URL input is read through a local
copy in the cache, a URL output is uploaded after the run, and the rows are those of a local run."""

from __future__ import annotations

import pytest
import yaml

from dataflow.core.errors import CompileError
from dataflow.core.pipeline import Pipeline
from tests.core.conftest import write_jsonl
from tests.core.test_engine import rows

moto_server = pytest.importorskip("moto.server", reason="moto is not installed")

STEPS = [{"op": "tests.core.sample_ops:Upper"}, {"op": "tests.core.sample_ops:WordCount", "params": {"min_words": 2}},
         {"op": "tests.core.sample_ops:ExactDedup"}, {"op": "tests.core.sample_ops:Checksum", "run": {"output_key": "sha"}}]


@pytest.fixture
def s3(monkeypatch):
    """A bucket ``bkt`` on a local S3-compatible server; returns the pyarrow filesystem."""
    import pyarrow.fs as pafs

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}.items():
        monkeypatch.setenv(key, value)
    fs = pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", allow_bucket_creation=True)
    fs.create_dir("bkt")
    try:
        yield fs
    finally:
        server.stop()


def spec(tmp_path, name, inp, out):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "input": inp, "output": out, "chunk_size": 40, "steps": STEPS}))
    return path


def test_s3_input_and_output_give_the_rows_of_a_local_run(s3, tmp_path):
    local_in = write_jsonl(tmp_path / "in.jsonl", rows(300))
    with s3.open_output_stream("bkt/data/in.jsonl") as fh:
        fh.write(local_in.read_bytes())
    Pipeline.from_spec(spec(tmp_path, "local", "in.jsonl", "local.jsonl")).run()
    remote = Pipeline.from_spec(spec(tmp_path, "remote", "s3://bkt/data/in.jsonl", "s3://bkt/out/clean.jsonl"))
    summary = remote.run()
    assert summary["output"] == "s3://bkt/out/clean.jsonl"
    with s3.open_input_stream("bkt/out/clean.jsonl") as fh:
        uploaded = fh.read()
    assert uploaded == (tmp_path / "local.jsonl").read_bytes() and uploaded.count(b"\n") > 30
    # A second run reuses the local copy and every cached step.
    again = Pipeline.from_spec(spec(tmp_path, "remote", "s3://bkt/data/in.jsonl", "s3://bkt/out/clean.jsonl")).run()
    assert all(s["cached_chunks"] == again["chunks"] for s in again["steps"])
    # A changed remote input is copied again and recomputed.
    with s3.open_output_stream("bkt/data/in.jsonl") as fh:
        fh.write(b"".join(local_in.read_bytes().splitlines(keepends=True)[:150]))
    changed = Pipeline.from_spec(spec(tmp_path, "remote", "s3://bkt/data/in.jsonl", "s3://bkt/out/clean.jsonl")).run()
    assert changed["totals"]["rows_in"] < summary["totals"]["rows_in"]
    assert all(s["cached_chunks"] == 0 for s in changed["steps"])


def test_a_missing_s3_input_does_not_compile(s3, tmp_path):
    with pytest.raises(CompileError, match="input not found: s3://bkt/nothing.jsonl"):
        Pipeline.from_spec(spec(tmp_path, "missing", "s3://bkt/nothing.jsonl", "out.jsonl")).run()
