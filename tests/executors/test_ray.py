"""The Ray executor on a local two-node cluster (a head and a second node on this machine, small object
stores, no dashboard): the same output as the local executor, dedup clusters included; the driver
SIGKILLed at random moments and resumed; a worker killed mid-task; an LLM step in an actor pool that
loads its serving once per replica. Skipped when ray is not installed."""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ray = pytest.importorskip("ray", reason="ray is not installed")
pytestmark = pytest.mark.ray

from dataflow.core.pipeline import Pipeline  # noqa: E402
from dataflow.executors.ray import RayExecutor  # noqa: E402
from tests.core.conftest import REPO, read_jsonl, write_jsonl  # noqa: E402

MAKE_CORPUS = REPO.parent / "shared" / "bench" / "make_pt_corpus.py"
OBJECT_STORE = 100 << 20


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node (2 logical CPUs each); the workers import this checkout."""
    from ray.cluster_utils import Cluster

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), old) if p)
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "object_store_memory": OBJECT_STORE,
                                                      "include_dashboard": False})
    c.add_node(num_cpus=2, object_store_memory=OBJECT_STORE)
    try:
        ray.init(address=c.address, logging_level="WARNING")
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def pt_corpus(path: Path, docs: int, copies: int) -> Path:
    """``docs`` documents of the shared pre-training corpus, then ``copies`` near copies of some of them
    (a word dropped, a paragraph appended), so the dedup has clusters to find."""
    if not MAKE_CORPUS.exists():
        pytest.skip(f"{MAKE_CORPUS} is absent (shared fixtures not mounted)")
    full = path.with_name("pt_full.jsonl")
    subprocess.run([sys.executable, str(MAKE_CORPUS), str(full), str(docs)], check=True)
    rows = read_jsonl(full)
    rng = random.Random(5)
    for _ in range(copies):
        text = rng.choice(rows[:docs])["raw_content"]
        words = text.split(" ")
        del words[rng.randrange(len(words))]
        rows.insert(rng.randrange(len(rows)), {"raw_content": " ".join(words)})
    return write_jsonl(path, rows)


def run_pretrain(corpus: Path, out: Path, executor, chunk_size: int) -> dict:
    from dataflow.pipelines.general_text.pretrain_filter import PretrainFilterPipeline

    return PretrainFilterPipeline(corpus, out, input_key="raw_content", cache_dir=out.with_suffix(".cache"),
                                  chunk_size=chunk_size, workers=2, executor=executor).run(fresh=True)


def dedup_decision(summary: dict) -> dict:
    step = summary["steps"][-1]
    path = Path(summary["cache_dir"]) / "steps"
    [decision] = list(path.glob(f"{step['index']:02d}-*/*/decision.pkl"))
    return pickle.loads(decision.read_bytes())


def test_import_dataflow_does_not_import_ray():
    code = ("import sys, dataflow, dataflow.core.pipeline, dataflow.core.engine, dataflow.executors, "
            "dataflow.cli.main; assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_pretrain_pipeline_on_two_nodes_is_byte_identical_to_local(cluster, tmp_path):
    corpus = pt_corpus(tmp_path / "pt.jsonl", 1500, 150)
    local = run_pretrain(corpus, tmp_path / "local.jsonl", "local", 200)
    executor = RayExecutor()
    distributed = run_pretrain(corpus, tmp_path / "ray.jsonl", executor, 200)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    ours, theirs = dedup_decision(distributed), dedup_decision(local)
    assert ours == theirs
    assert theirs["metrics"]["duplicate_clusters"] >= 100  # the planted copies were found
    assert distributed["executor"] == "ray" and distributed["executor_stats"]["nodes"] == 2
    [shuffle] = distributed["executor_stats"]["shuffles"]
    assert shuffle["candidates"] == theirs["metrics"]["candidate_pairs"]
    assert local["totals"] == {**distributed["totals"], "seconds": local["totals"]["seconds"],
                               "step_seconds": local["totals"]["step_seconds"]}


def test_simhash_exact_and_ngram_dedup_are_decided_by_the_shuffle_as_locally(cluster, tmp_path):
    from dataflow.core.registry import OPERATORS

    corpus = pt_corpus(tmp_path / "pt.jsonl", 400, 80)
    rows = read_jsonl(corpus)
    rng = random.Random(9)
    edited = [{"raw_content": " ".join(w for w in r["raw_content"].split(" ") if rng.random() > 0.15)}
              for r in rows[100:160]]  # copies missing 15% of their words: for the n-gram threshold
    write_jsonl(corpus, rows + rows[:50] + edited + [{"raw_content": ""}] * 3)  # exact copies too

    class Dedups(Pipeline):
        def __init__(self, out, executor):
            super().__init__(corpus, out, cache_dir=out.with_suffix(".cache"), chunk_size=60, workers=2,
                             executor=executor)
            self.exact = OPERATORS.get("ExactDeduplicateFilter")()
            self.simhash = OPERATORS.get("SimHashDeduplicateFilter")(max_distance=4)
            self.ngram = OPERATORS.get("NgramHashDeduplicateFilter")(threshold=0.7, ngram=3)

        def forward(self):
            self.exact.run(self.storage, input_key="raw_content")
            self.simhash.run(self.storage, input_key="raw_content")
            self.ngram.run(self.storage, input_key="raw_content")

    local = Dedups(tmp_path / "local.jsonl", "local").run()
    distributed = Dedups(tmp_path / "ray.jsonl", RayExecutor()).run()
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert len(distributed["executor_stats"]["shuffles"]) == 3
    for ours, theirs in zip(distributed["steps"], local["steps"]):
        assert ours["rows_out"] < ours["rows_in"]
        assert ours["metrics"] == theirs["metrics"]


def test_llm_step_runs_in_an_actor_pool_that_loads_the_serving_once_per_replica(cluster, tmp_path):
    from dataflow.core import resources
    from dataflow.operators.core_text.prompted_generator import FormatStrPromptedGenerator
    from dataflow.serving.fake_server import FakeOpenAIServer
    from tests.core.sample_ops import Checksum, Upper

    inp = write_jsonl(tmp_path / "in.jsonl", [{"text": f"row {i} " + "word " * (i % 7)} for i in range(240)])

    class Ask(Pipeline):
        def __init__(self, out, executor, serving):
            super().__init__(inp, out, cache_dir=out.with_suffix(".cache"), chunk_size=30, workers=2,
                             serving=serving, executor=executor)
            self.upper, self.sha = Upper(), Checksum()
            self.ask = FormatStrPromptedGenerator(template="Echo: {text}", max_tokens=16)

        def forward(self):
            self.upper.run(self.storage, input_key="text")
            self.ask.run(self.storage, output_key="answer")
            self.sha.run(self.storage, input_key="answer", output_key="sha")

    with FakeOpenAIServer(latency_s=0.05) as server:
        serving = {"backend": "openai", "model": "fake", "base_url": server.base_url, "cache": False}
        Ask(tmp_path / "local.jsonl", "local", serving).run()
        loads_before = dict(resources.BUILDS)
        executor = RayExecutor(replicas=2)
        summary = Ask(tmp_path / "ray.jsonl", executor, serving).run()
        assert len(server.log) == 2 * 240  # each run asked once per row (no response cache)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert all(r["answer"] == f"echo: Echo: {r['text']}" for r in read_jsonl(tmp_path / "ray.jsonl"))
    [pool] = summary["executor_stats"]["resource_pools"]
    assert pool["resources"] == ["llm"] and len(pool["replicas"]) == 2
    assert [r["loads"] for r in pool["replicas"]] == [{"llm": 1}, {"llm": 1}]  # one load per replica
    assert sum(r["tasks"] for r in pool["replicas"]) == 8  # every chunk's LLM step went to the pool
    assert len({r["pid"] for r in pool["replicas"]}) == 2 and os.getpid() not in {r["pid"] for r in pool["replicas"]}
    assert resources.BUILDS == loads_before  # the driver built no serving
    # More replicas than the cluster can hold beside the chunk tasks: as many as fit, and no deadlock.
    with FakeOpenAIServer() as server:
        serving = {"backend": "openai", "model": "fake", "base_url": server.base_url, "cache": False}
        crowded = Ask(tmp_path / "crowded.jsonl", RayExecutor(replicas=10), serving).run()
    assert (tmp_path / "crowded.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert len(crowded["executor_stats"]["resource_pools"][0]["replicas"]) == 3  # 4 CPUs, one left for tasks


def test_a_worker_killed_mid_task_is_retried_with_no_row_lost_or_doubled(cluster, tmp_path):
    from tests.executors.ray_ops import PauseOnce

    inp = write_jsonl(tmp_path / "in.jsonl", [{"text": "x" * (i % 17) + f" {i}"} for i in range(400)])
    flag = tmp_path / "flag"

    class Slow(Pipeline):
        def __init__(self, out, executor, flag_path):
            super().__init__(inp, out, cache_dir=out.with_suffix(".cache"), chunk_size=50, workers=2,
                             executor=executor)
            self.op = PauseOnce(flag=str(flag_path), row="123")

        def forward(self):
            self.op.run(self.storage, input_key="text")

    (tmp_path / "unused").write_text("1\n")  # the local reference run does not pause
    Slow(tmp_path / "local.jsonl", "local", tmp_path / "unused").run()

    def kill_the_paused_worker():
        deadline = time.monotonic() + 120
        # The file appears before its line is written: wait for the pid itself.
        while time.monotonic() < deadline and not (flag.exists() and flag.read_text().split()):
            time.sleep(0.05)
        os.kill(int(flag.read_text().split()[0]), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_paused_worker)
    killer.start()
    Slow(tmp_path / "ray.jsonl", RayExecutor(), flag).run()
    killer.join()
    attempts = flag.read_text().split()
    assert len(attempts) == 2 and attempts[0] != attempts[1]  # killed once, retried in another worker
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert len(read_jsonl(tmp_path / "ray.jsonl")) == 400


def test_a_broken_operator_stops_the_run_with_its_error(cluster, tmp_path):
    from dataflow.core.errors import StepError
    from tests.executors.ray_ops import AlwaysFails

    inp = write_jsonl(tmp_path / "in.jsonl", [{"text": f"row {i}"} for i in range(50)])

    class Broken(Pipeline):
        def __init__(self):
            super().__init__(inp, tmp_path / "out.jsonl", cache_dir=tmp_path / "cache", chunk_size=10,
                             executor=RayExecutor())
            self.op = AlwaysFails()

        def forward(self):
            self.op.run(self.storage, input_key="text")

    with pytest.raises(StepError, match="this operator is broken"):
        Broken().run()
    assert not (tmp_path / "out.jsonl").exists()


# ---------------------------------------------------------------- the driver killed at random moments
def kill_spec(tmp_path: Path, name: str, address: str | None) -> Path:
    rng = random.Random(7)
    vocab = [f"tok{i}" for i in range(300)]
    rows = [{"text": " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 30)))} for _ in range(6000)]
    rows += [dict(r) for r in rng.sample(rows, 600)]  # exact copies for the MinHash dedup to find
    write_jsonl(tmp_path / "in.jsonl", rows)
    spec = {"name": name, "input": "in.jsonl", "output": f"{name}.jsonl", "chunk_size": 400, "steps": [
        {"op": "tests.core.sample_ops:Upper"},
        {"op": "tests.core.sample_ops:WordCount", "params": {"min_words": 4}},
        {"op": "MinHashDeduplicateFilter", "params": {"tokenize": "word", "ngram": 2}, "run": {"input_key": "text"}},
        {"op": "tests.core.sample_ops:Checksum", "run": {"output_key": "sha"}},
        {"op": "tests.core.sample_ops:SplitWords", "params": {"max_parts": 3}},
    ]}
    if address:
        spec.update(executor="ray", executor_options={"address": address})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def cli(spec: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "dataflow.cli.main", "run", str(spec), "--no-progress", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_driver_sigkilled_at_random_moments_resumes_to_identical_output(cluster, tmp_path):
    ref = kill_spec(tmp_path, "reference", None)
    assert cli(ref, "--executor", "local").wait(timeout=300) == 0
    reference = (tmp_path / "reference.jsonl").read_bytes()
    # An uninterrupted Ray run through the CLI flags (the spec names no executor): identical, and timed.
    t0 = time.monotonic()
    plain = cli(ref, "--executor", "ray", "--address", cluster.address, "--fresh")
    _, err = plain.communicate(timeout=300)
    assert plain.returncode == 0, err.decode()
    duration = time.monotonic() - t0
    assert (tmp_path / "reference.jsonl").read_bytes() == reference
    rng = random.Random(13)
    killed = 0
    for trial in range(3):
        spec = kill_spec(tmp_path, f"killed{trial}", cluster.address)
        for _ in range(2):
            proc = cli(spec, "--resume")
            time.sleep(rng.uniform(0.2, 0.9) * duration)
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed += 1
        final = cli(spec, "--resume")
        _, err = final.communicate(timeout=300)
        assert final.returncode == 0, err.decode()
        assert (tmp_path / f"killed{trial}.jsonl").read_bytes() == reference, f"trial {trial}"
        decisions = list((tmp_path / ".dataflow" / f"killed{trial}" / "steps").glob("03-*/*/decision.pkl"))
        assert len(decisions) == 1
    print(f"uninterrupted Ray run {duration:.1f} s; {killed} kills")
    assert killed >= 3, "the runs finished before the kills: resume was not exercised"


@pytest.mark.slow
def test_pretrain_pipeline_on_the_20k_corpus_is_byte_identical_to_local(cluster, tmp_path):
    corpus = pt_corpus(tmp_path / "pt20k.jsonl", 20_000, 0)
    local = run_pretrain(corpus, tmp_path / "local.jsonl", "local", 2000)
    distributed = run_pretrain(corpus, tmp_path / "ray.jsonl", RayExecutor(), 2000)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert dedup_decision(distributed) == dedup_decision(local)
    print(json.dumps({"local_s": local["totals"]["seconds"], "ray_s": distributed["totals"]["seconds"]}))
