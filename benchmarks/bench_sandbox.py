"""Benchmark: executions per second of the sandbox beside a bare ``subprocess.run([python, file])`` per task.

    python benchmarks/bench_sandbox.py [--trivial 400] [--workers N] [--repeat 2]

Both run on the same cores (``--workers``, default: every core this process may use), the bare runner from a
thread pool of that size. Workloads: trivial snippets (``print(i)``), and the 474 MBPP-train tasks from
``../shared/fixtures/code/mbpp_train.jsonl`` (solution, setup and tests in one program; skipped when the
fixtures are absent). The sandbox runs with every isolation layer the host offers; the layers are printed
first. Its pool start-up is timed apart (paid once per ``Sandbox``). Each row is the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dataflow.sandbox import Job, Limits, Sandbox

MBPP = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "code" / "mbpp_train.jsonl"


def bare(programs: list[str], workers: int, folder: str) -> tuple[float, int]:
    paths = []
    for i, program in enumerate(programs):
        path = os.path.join(folder, f"task_{i}.py")
        with open(path, "w") as f:
            f.write(program)
        paths.append(path)

    def one(path: str) -> bool:
        done = subprocess.run([sys.executable, path], capture_output=True, timeout=30)
        return done.returncode == 0

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, paths))
    return time.perf_counter() - start, passed


def sandboxed(box: Sandbox, jobs: list[Job]) -> tuple[float, int]:
    start = time.perf_counter()
    results = box.run_many(jobs)
    return time.perf_counter() - start, sum(r.passed for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial", type=int, default=400, help="number of trivial snippets")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    workloads: dict[str, tuple[list[str], list[Job]]] = {}
    snippets = [f"print({i})\n" for i in range(args.trivial)]
    workloads["trivial"] = (snippets, [Job(s) for s in snippets])
    if MBPP.exists():
        tasks = [json.loads(line) for line in MBPP.open()]
        programs = [f"{t['code']}\n{t['test_setup_code']}\n" + "\n".join(t["test_list"]) + "\n" for t in tasks]
        workloads["mbpp"] = (programs, [Job(t["code"], t["test_list"], setup=t["test_setup_code"])
                                        for t in tasks])
    else:
        print(f"(MBPP fixture absent at {MBPP}: trivial snippets only)")

    start = time.perf_counter()
    box = Sandbox(Limits(timeout=30), workers=args.workers).start()
    startup = time.perf_counter() - start
    print(f"isolation layers ({args.workers} workers, pool start-up {startup:.2f} s):")
    print(box.isolation().table())
    off = [name for name, layer in box.isolation().layers.items() if not layer["active"]]
    print(f"layers off on this host: {', '.join(off) or 'none'}\n")

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (programs, jobs) in workloads.items():
            best = {}
            for _ in range(args.repeat):
                for runner, run in (("bare subprocess", lambda p=programs: bare(p, args.workers, folder)),
                                    ("sandbox", lambda j=jobs: sandboxed(box, j))):
                    seconds, passed = run()
                    if runner not in best or seconds < best[runner][0]:
                        best[runner] = (seconds, passed)
            for runner, (seconds, passed) in best.items():
                rows.append((name, runner, len(jobs), passed, seconds, len(jobs) / seconds))
            ratio = best["bare subprocess"][0] / best["sandbox"][0]
            rows.append((name, "sandbox / bare", "", "", "", f"{ratio:.1f}x"))
    box.close()

    header = ("workload", "runner", "tasks", "passed", "seconds", "exec/s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [f"{c:.2f}" if isinstance(c, float) and i == 4 else f"{c:.1f}" if isinstance(c, float) else str(c)
                 for i, c in enumerate(row)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
