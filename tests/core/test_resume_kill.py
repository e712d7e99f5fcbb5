"""A real `dataflow run` killed with SIGKILL at random moments resumes to exactly the uninterrupted output."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.core.conftest import REPO, dataflow_cli, write_jsonl

OPS = "tests.core.sample_ops"
STEPS = [
    {"op": f"{OPS}:Upper"},
    {"op": f"{OPS}:WordCount", "params": {"min_words": 2}},
    {"op": f"{OPS}:Checksum", "run": {"output_key": "sha"}},
    {"op": f"{OPS}:ExactDedup"},
    {"op": f"{OPS}:Suffix", "params": {"suffix": "."}},
    {"op": f"{OPS}:SplitWords", "params": {"max_parts": 3}},
    {"op": f"{OPS}:Upper", "run": {"input_key": "part"}},
]


def make_spec(tmp_path, name, n_rows):
    rng = random.Random(7)
    vocab = [f"tok{i}" for i in range(400)]
    rows = [{"id": i, "text": " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12)))} for i in range(n_rows)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    spec = {"name": name, "input": "in.jsonl", "output": f"{name}.jsonl", "chunk_size": 500, "steps": STEPS}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def start(spec, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "dataflow.cli.main", "run", str(spec), "--no-progress", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_and_resume(tmp_path, n_rows, kills, seed):
    ref_spec = make_spec(tmp_path, "reference", n_rows)
    t0 = time.monotonic()
    assert dataflow_cli("run", str(ref_spec), "--no-progress").returncode == 0
    duration = time.monotonic() - t0
    spec = make_spec(tmp_path, "killed", n_rows)
    rng = random.Random(seed)
    killed = 0
    for _ in range(kills):
        proc = start(spec, "--resume")
        time.sleep(rng.uniform(0.15, 0.95) * duration)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed += 1
    final = start(spec, "--resume")
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    reference = (tmp_path / "reference.jsonl").read_text().splitlines()
    resumed = (tmp_path / "killed.jsonl").read_text().splitlines()
    assert len(resumed) == len(reference), "rows lost or doubled"
    assert resumed == reference
    assert len(set(resumed)) == len(resumed) or len(set(reference)) != len(reference)
    return killed


def test_sigkill_at_random_moments_then_resume_gives_identical_output(tmp_path):
    killed = kill_and_resume(tmp_path, 20_000, kills=3, seed=11)
    assert killed >= 1, "the run finished before any kill: the test did not exercise resume"


@pytest.mark.slow
def test_sigkill_soak_many_rounds(tmp_path):
    for seed in range(3):
        sub = tmp_path / f"round{seed}"
        sub.mkdir()
        kill_and_resume(sub, 20_000, kills=8, seed=100 + seed)
