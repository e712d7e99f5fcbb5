"""Pipeline overhead: 20 cheap row-wise steps over 100,000 rows, against plain pandas doing the same work.

Each side runs in its own process so peak RSS is its own. The pipeline side includes everything a real
run does: reading and validating the jsonl input, the per-chunk step cache, writing the output and
report.html. Library imports are outside the timing on both sides.
The pandas side reads the jsonl with pandas, applies the same 20 operations in one pass and writes jsonl.

Each side runs ``--repeats`` times (default 3, alternating, the pipeline from an empty cache every time) and
the median is shown: wall time, and CPU time (user + system of the process and of any workers it started),
which a busy machine disturbs less.

    python benchmarks/bench_pipeline_overhead.py [N_ROWS] [--repeats N]
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dataflow.core.operator import Evaluator, InputColumn, OutputColumn, RangeFilter, Refiner
from dataflow.core.pipeline import Pipeline

N_STEPS = 20


class Strip(Refiner):
    """strip()"""

    def refine(self, values, ctx):
        return values.str.strip()


class Lower(Refiner):
    """lower()"""

    def refine(self, values, ctx):
        return values.str.lower()


class Length(Evaluator):
    """len() into a column"""

    input_key = InputColumn("text")
    output_key = OutputColumn("len")

    def evaluate(self, batch, ctx):
        return {ctx.cols.output_key: batch[ctx.cols.input_key].str.len().to_numpy()}


class MinLength(RangeFilter):
    """drop texts shorter than n chars"""

    input_key = InputColumn("text")

    def __init__(self, n: int = 1):
        super().__init__(min_value=n)

    def score(self, batch, ctx):
        return batch[ctx.cols.input_key].str.len().to_numpy()


class Bench(Pipeline):
    def __init__(self, inp, out, cache):
        super().__init__(inp, out, cache_dir=cache, chunk_size=10_000)
        self.ops = [(Strip(), {}), (Lower(), {})]
        for i in range(N_STEPS - 2):
            if i % 3 == 2:
                self.ops.append((MinLength(n=i), {}))
            else:
                self.ops.append((Length(), {"output_key": f"len{i}"}))

    def forward(self):
        for op, kw in self.ops:
            op.run(self.storage, input_key="text", **kw)


def plain_pandas(inp, out):
    df = pd.read_json(inp, lines=True)
    df["text"] = df["text"].str.strip()
    df["text"] = df["text"].str.lower()
    for i in range(N_STEPS - 2):
        lengths = df["text"].str.len().to_numpy()
        if i % 3 == 2:
            df = df[lengths >= i]
        else:
            df[f"len{i}"] = lengths
    df.to_json(out, orient="records", lines=True, force_ascii=False)
    return len(df)


def make_input(path: Path, n: int) -> None:
    rng = random.Random(0)
    words = [f"Word{i}" for i in range(2000)]
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": i, "text": "  " + " ".join(rng.choices(words, k=rng.randint(0, 30))) + " "}) + "\n")


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def import_engine() -> None:
    """The modules a run imports on first use, imported before the clock starts: library imports are
    outside the timing on both sides (pandas' side has pandas, which it imports at the top)."""
    import dataflow.core.engine  # noqa: F401
    import dataflow.core.ingest  # noqa: F401
    import dataflow.core.results  # noqa: F401
    import dataflow.executors.local  # noqa: F401
    import dataflow.report  # noqa: F401


def child(mode: str, inp: str, out: str, cache: str) -> None:
    if mode != "pandas":
        import_engine()
    t0, c0 = time.perf_counter(), _cpu_seconds()
    if mode == "pandas":
        rows = plain_pandas(inp, out)
    else:
        rows = Bench(inp, out, cache).run(progress=False)["totals"]["rows_out"]
    dt, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "cpu": cpu, "rss_mb": max(rss, kids), "rows": rows}))


def measure(mode, inp, out, cache):
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(inp), str(out), str(cache)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    args = sys.argv[1:]
    repeats = 3
    if "--repeats" in args:
        at = args.index("--repeats")
        repeats = int(args[at + 1])
        del args[at:at + 2]
    n = int(args[0]) if args else 100_000
    runs: dict[str, list[dict]] = {"pandas": [], "pipeline": [], "cached": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_input(tmp / "in.jsonl", n)
        for _ in range(repeats):
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            runs["pandas"].append(measure("pandas", tmp / "in.jsonl", tmp / "pandas.jsonl", tmp / "unused"))
            runs["pipeline"].append(measure("pipeline", tmp / "in.jsonl", tmp / "pipe.jsonl", tmp / "cache"))
            runs["cached"].append(measure("pipeline", tmp / "in.jsonl", tmp / "pipe2.jsonl", tmp / "cache"))
        a = pd.read_json(tmp / "pandas.jsonl", lines=True)
        b = pd.read_json(tmp / "pipe.jsonl", lines=True)
        same = a.shape == b.shape and bool(np.all(a.to_numpy() == b.to_numpy()))
    pandas_res, pipe_res, cached_res = (median_of(runs[k]) for k in ("pandas", "pipeline", "cached"))
    print(f"{N_STEPS} row-wise steps over {n:,} rows (outputs identical: {same}; median of {repeats} runs)")
    print(f"{'run':<28}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'rows out':>10}{'wall ratio':>12}{'CPU ratio':>11}")
    for name, r in (("plain pandas, one pass", pandas_res), ("dataflow pipeline", pipe_res),
                    ("dataflow, re-run (cached)", cached_res)):
        print(f"{name:<28}{r['seconds']:>8.2f}{r['cpu']:>8.2f}{r['rss_mb']:>13.0f}{r['rows']:>10,.0f}"
              f"{r['seconds'] / pandas_res['seconds']:>12.2f}{r['cpu'] / pandas_res['cpu']:>11.2f}")
    ratio = pipe_res["seconds"] / pandas_res["seconds"]
    print(f"\ntarget: pipeline <= 1.5x plain pandas' wall time -> {'ok' if ratio <= 1.5 else 'MISSED'}")
    print("RESULT " + json.dumps({"wall_ratio": ratio, "cpu_ratio": pipe_res["cpu"] / pandas_res["cpu"],
                                  "pandas_s": pandas_res["seconds"], "pipeline_s": pipe_res["seconds"],
                                  "identical": same}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
