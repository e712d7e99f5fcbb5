"""Benchmark: the pre-training pipeline on Ray vs the local executor, and a 1 TB estimate from its costs.

    .venv/bin/python benchmarks/bench_ray.py [--corpus /tmp/pt20k.jsonl] [--chunk-size 2000] [--workers N]
        [--address HOST:PORT] [--cores-per-node 32] [--nodes 1,4,16,64]

Runs :class:`PretrainFilterPipeline` on the 20,000-document corpus (``../shared/bench/make_pt_corpus.py``,
62 MB) twice, each in a child process with a fresh cache: ``executor: local`` (forked pool) and
``executor: ray`` (a Ray instance started on this machine with ``--workers`` CPUs, or the cluster at
``--address``). Prints both wall times and their ratio (the Ray overhead on one machine), Ray's start-up,
whether the outputs are byte-identical, and the per-stage costs of the Ray run from its run.json and
event log: CPU-seconds per MB of input for the refiners, the rule filters, the MinHash scan and apply
(all parallel over chunks), the shuffle (decide), and the driver's serial phases (ingest, output).
From those it estimates the wall time of 1 TB on N nodes of C cores: parallel work / (N x C) +
serial driver work + the shuffle's transfer (its bytes per MB measured, at ``--network-gbps`` per node).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import ensure_corpus  # benchmarks/ is the script's folder, first on sys.path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from dataflow.core.cache import follow_events
from dataflow.pipelines.general_text.pretrain_filter import PretrainFilterPipeline

args = json.loads(sys.argv[1])
executor, start_s = args["executor"], 0.0
if executor == "ray":
    from dataflow.executors.ray import RayExecutor
    executor = RayExecutor(args["workers"], address=args["address"])
    t = time.perf_counter()
    executor.start()
    start_s = time.perf_counter() - t
pipe = PretrainFilterPipeline(args["corpus"], args["output"], input_key="raw_content", cache_dir=args["cache"],
                              chunk_size=args["chunk_size"], workers=args["workers"], executor=executor)
summary = pipe.run(fresh=True, progress=False)
if args["executor"] == "ray":
    import ray
    ray.shutdown()
events, _ = follow_events(summary["cache_dir"] + "/events.jsonl")
phases = {name: sum(e["seconds"] for e in events if e["event"] == event)
          for name, event in (("ingest", "ingested"), ("decide", "decided"), ("output", "output_written"))}
print("@@" + json.dumps({"summary": summary, "phases": phases, "start_s": start_s,
                         "wall_in_child": time.perf_counter() - t0}))
"""

REFINERS = {"HtmlUrlRemoverRefiner", "RemoveEmojiRefiner", "RemoveExtraSpacesRefiner"}


def run_child(executor: str, corpus: Path, work: Path, args: argparse.Namespace) -> dict:
    child = {"executor": executor, "corpus": str(corpus), "output": str(work / f"{executor}.jsonl"),
             "cache": str(work / f"cache-{executor}"), "chunk_size": args.chunk_size, "workers": args.workers,
             "address": args.address}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(child)], cwd=REPO, capture_output=True,
                         text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        sys.exit(f"{executor} run failed:\n{out.stderr[-3000:]}")
    result = json.loads(next(line[2:] for line in out.stdout.splitlines() if line.startswith("@@")))
    result["wall"] = wall
    return result


def stage_costs(summary: dict, phases: dict) -> dict[str, float]:
    """Seconds of each stage, summed over chunks (parallel stages) or as run (serial ones)."""
    steps = summary["steps"]
    dedup = steps[-1]
    scan = dedup.get("scan_seconds", 0.0)
    return {
        "refiners (3)": sum(s["seconds"] for s in steps if s["op"] in REFINERS),
        "rule filters (19)": sum(s["seconds"] for s in steps[:-1] if s["op"] not in REFINERS),
        "minhash scan (signatures, keys)": scan,
        "minhash apply": max(0.0, dedup["seconds"] - scan - dedup.get("decide_seconds", 0.0)),
        "minhash shuffle (decide)": dedup.get("decide_seconds", 0.0),
        "driver: ingest": phases["ingest"],
        "driver: write output": phases["output"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/pt20k.jsonl")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--address", help="an existing Ray cluster (default: start one on this machine)")
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--nodes", default="1,4,16,64")
    parser.add_argument("--network-gbps", type=float, default=10.0, help="per node, for the shuffle estimate")
    args = parser.parse_args()

    corpus = ensure_corpus(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    local = run_child("local", corpus, work, args)
    distributed = run_child("ray", corpus, work, args)
    same = (work / "local.jsonl").read_bytes() == (work / "ray.jsonl").read_bytes()

    mb = corpus.stat().st_size / 1e6
    summary = distributed["summary"]
    shuffle = (summary.get("executor_stats", {}).get("shuffles") or [{}])[0]
    rows = [
        ("corpus", f"{corpus} ({mb:.0f} MB, {summary['totals']['rows_in']:,} docs)"),
        ("chunks x chunk_size", f"{summary['chunks']} x {summary['chunk_size']}"),
        ("cores here", str(os.cpu_count())),
        ("local wall (s)", f"{local['wall']:.1f}   (engine {local['summary']['totals']['seconds']:.1f})"),
        ("ray wall (s)", f"{distributed['wall']:.1f}   (engine {summary['totals']['seconds']:.1f}, "
                         f"ray start {distributed['start_s']:.1f})"),
        ("ray / local wall", f"{distributed['wall'] / local['wall']:.2f}x   (engine only: "
                             f"{summary['totals']['seconds'] / local['summary']['totals']['seconds']:.2f}x)"),
        ("outputs byte-identical", "yes" if same else "NO"),
        ("dedup: candidates / linked pairs", f"{shuffle.get('candidates', '?')} / {shuffle.get('linked', '?')}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value}")

    costs = stage_costs(summary, distributed["phases"])
    print(f"\n{'stage (ray run)':<34} {'seconds':>8} {'s per MB':>9} {'s per chunk':>11}")
    for name, sec in costs.items():
        print(f"{name:<34} {sec:>8.2f} {sec / mb:>9.4f} {sec / summary['chunks']:>11.3f}")

    parallel = sum(v for k, v in costs.items() if not k.startswith(("driver", "minhash shuffle"))) / mb
    serial = (costs["driver: ingest"] + costs["driver: write output"]) / mb
    decide = costs["minhash shuffle (decide)"] / mb
    docs_per_mb = summary["totals"]["rows_in"] / mb
    bands = summary["steps"][-1].get("metrics", {}).get("lsh_bands", 21)
    shuffle_bytes_per_mb = docs_per_mb * bands * 24  # (table, key, row) per band and document
    tb = 1e6  # MB
    print(f"\n1 TB estimate ({args.cores_per_node} cores per node, CPU-seconds scaled from this run; "
          f"shuffle {shuffle_bytes_per_mb / 1e3:.0f} KB per MB of input at {args.network_gbps:g} Gbit/s per node)")
    print(f"{'nodes':>6} {'parallel (h)':>13} {'shuffle (h)':>12} {'driver serial (h)':>18} {'total (h)':>10}")
    for n in [int(x) for x in args.nodes.split(",")]:
        par = parallel * tb / (n * args.cores_per_node) / 3600
        net = shuffle_bytes_per_mb * tb * 8 / (args.network_gbps * 1e9 * n) / 3600
        shuf = net + decide * tb / (n * args.cores_per_node) / 3600
        ser = serial * tb / 3600
        print(f"{n:>6} {par:>13.2f} {shuf:>12.2f} {ser:>18.2f} {par + shuf + ser:>10.2f}")
    print("\nThe driver's serial phases (ingest into chunks, one output file) do not shrink with nodes: "
          "at 1 TB, pre-split input and per-chunk outputs are what make more nodes pay (docs/ray.md).")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) + 0.5:
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores: other work shared the CPU.")


if __name__ == "__main__":
    main()
