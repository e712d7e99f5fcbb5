"""The hot paths in one run: MinHash, the reference-order pre-training pipeline, engine overhead, LLM serving.

    .venv/bin/python benchmarks/bench_hot_paths.py [--corpus /tmp/pt20k.jsonl] [--skip-llm]

Runs, one after the other on the same machine, each benchmark below as its own process (its whole table is
printed as it goes), then prints a summary with every figure beside its target and the command that
produced it. The README's performance table quotes this summary.

* ``bench_minhash.py``: ours vs rensa and datasketch, docs/s/core and recall of 200 planted near copies;
* ``bench_pretrain_pipeline.py``: the reference DataFlow's CPU pre-training pipeline in its step order
  (``pretrain_filter_reference_order.yaml``) on the 20k-document corpus, wall time and peak memory;
* ``bench_pipeline_overhead.py``: 20 cheap steps over 100k rows vs one plain-pandas pass;
* ``bench_serving_llamacpp.py``: the embedded backend beside llama.cpp's own ``llama-batched-bench``
  (and the OpenAI-compatible backend beside a bare client of ``llama-server``), built from the same
  vendored source; several minutes, the first time also the build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def run(script: str, *args: str) -> tuple[dict | None, str, float]:
    """Run one benchmark, echoing its output; return its RESULT json, its command and its wall time."""
    command = [sys.executable, str(HERE / script), *args]
    shown = " ".join(["python", f"benchmarks/{script}", *args])
    print(f"\n=== {shown}", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        else:
            print(line, end="", flush=True)
    proc.wait()
    if proc.returncode:
        print(f"({script} exited with {proc.returncode})")
    return result, shown, time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/pt20k.jsonl")
    parser.add_argument("--skip-llm", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []  # (what, figure, target and verdict, command)
    started = time.strftime("%Y-%m-%d %H:%M")

    mh, cmd, _ = run("bench_minhash.py", "--corpus", args.corpus)
    if mh:
        rensa = mh["peers"].get("rensa, per document (RMinHash.update)")
        batch = mh["peers"].get("rensa, batch on our shingle hashes")
        sketch = next((v for k, v in mh["peers"].items() if k.startswith("datasketch")), None)
        figure = f"ours {mh['ours_docs_per_s_core']:,.0f} docs/s/core"
        if rensa:
            figure += f"; rensa {rensa[0]:,.0f} ({mh['ours_docs_per_s_core'] / rensa[0]:.1f}x slower than ours)"
        if batch:
            figure += f", rensa's batch kernel on our hashes {batch[0]:,.0f}"
        if sketch:
            figure += f"; datasketch {sketch[0]:,.0f}"
        rows.append(("MinHash + LSH, char 5-grams, 128 perm", figure,
                     f">= 2,000: {verdict(mh['ours_docs_per_s_core'] >= 2000)}", cmd))
        n = mh["planted"]
        recall = (f"ours {mh['ours_found']}/{n} copies found, {mh['ours_decoys_merged']}/{n} decoys merged "
                  f"(clusters identical to the numpy kernel's: {mh['identical_to_numpy']})")
        if rensa:
            recall += f"; rensa {rensa[1]}/{n}, {rensa[2]}/{n}"
        if sketch:
            recall += f"; datasketch {sketch[1]}/{n}, {sketch[2]}/{n}"
        rows.append(("planted near copies found (J >= 0.8), decoys merged (J 0.5-0.7)", recall,
                     f"recall unchanged: {verdict(bool(mh['identical_to_numpy']))}", cmd))

    pt, cmd, _ = run("bench_pretrain_pipeline.py", "--corpus", args.corpus)
    if pt:
        rows.append(("pre-training pipeline, reference order, 20k docs",
                     f"{pt['wall_s']:.1f} s wall, {pt['cpu_s']:.1f} s CPU, {pt['peak_pss_mb']:.0f} MB peak PSS; "
                     f"{pt['rows_in']:,} -> {pt['rows_out']:,} rows, sha256 {pt['sha256']}",
                     f"<= 20 s: {verdict(pt['wall_s'] <= 20)}; <= 512 MB: {verdict(pt['peak_pss_mb'] <= 512)}", cmd))

    ov, cmd, _ = run("bench_pipeline_overhead.py", "--repeats", "5")
    if ov:
        rows.append(("engine overhead, 20 cheap steps, 100k rows",
                     f"{ov['wall_ratio']:.2f}x plain pandas' wall time ({ov['pipeline_s']:.2f} s vs "
                     f"{ov['pandas_s']:.2f} s), CPU {ov['cpu_ratio']:.2f}x; outputs identical: {ov['identical']}",
                     f"<= 1.5x: {verdict(ov['wall_ratio'] <= 1.5)}", cmd))

    if not args.skip_llm and (HERE / "bench_serving_llamacpp.py").exists():
        llm, cmd, _ = run("bench_serving_llamacpp.py", "--repeats", "3")  # medians of 3: this CPU is noisy
        if llm:
            for what, figure, ok in llm.get("summary", []):
                rows.append((what, figure, verdict(ok), cmd))

    load = os.getloadavg()[0]
    print(f"\n=== summary ({started}, {os.cpu_count()} cores, load average now {load:.1f})")
    width = max(len(r[0]) for r in rows) if rows else 10
    for what, figure, target, command in rows:
        print(f"{what:<{width}}  {figure}\n{'':<{width}}  target {target}   [{command}]")


if __name__ == "__main__":
    main()
